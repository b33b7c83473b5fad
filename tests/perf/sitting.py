"""One sitting: the user-facing figures of `docs/performance.md`'s top table, two commits in turn.

Each commit is exported (`git archive`) into a folder of its own and every command runs from
outside both, with `PYTHONPATH` at that folder and this interpreter, so the two differ only in
composer's code. Bytecode is cached for both (in a `PYTHONPYCACHEPREFIX` filled by one untimed
run of each command first), as the README's plain install runs. Then each measure runs in
pairs, the before and the after command one right after the other, every output into a new
folder (a folder deleted just before a run makes the file system's work depend on the last
one); the figures are medians, and the paired ratio (after / before, per pair, median) is what
compares across hours. Peak memory is the child's `wait4` `ru_maxrss`.

- `composer list graphs`;
- `composer demo --quiet` (460 tasks; `--no-uni-mmmu` where the commit has it, so both run
  the same tasks), wall, CPU and peak memory;
- peak memory at `--n-per-category 60` against 10 (the same demo; the ratio per commit);
- `composer report RUN --format html` into a new folder, on a 10,000 x 6 store each commit's
  own `report_scale.py` builds (the stores' schemas differ between versions);
- `overhead`: this folder's `overhead.py` (orchestration against LangGraph alone, 1,000
  instances) on each commit in turn, one process of `--overhead-rounds` rounds each time,
  `--overhead-pairs` times; the ratio from each side's minimums over all its rounds and the
  median of its rounds' ratios (the store's floor only where the commit has the schema module
  it records with: not 76691d5);
- `concurrency` and `rate_limit`: this folder's `concurrency.py` (10% 429s against a plain
  loop) and `rate_limit.py` (a server that limits its rate) once on each commit, their
  figures quoted. Today's scripts run on both commits (`versions.py` reads either instance
  model), so before and after are measured the same way;
- `instructions`: each of `overhead.py`'s phases on each commit, in a process of its own under
  valgrind's callgrind (`overhead.py --count-phase`, `--count-instances` instances, two
  processes at a time): instructions an instance, which do not depend on the machine's load,
  and `overhead.py`'s ratios counted in them.

    python tests/perf/sitting.py [--before 76691d5] [--after HEAD] [--pairs 8]
        [--memory-pairs 2] [--html-pairs 3] [--html-instances 10000]
        [--overhead-pairs 3] [--overhead-rounds 5] [--count-instances 200]
        [--only list,demo,...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commands import demo_argv, run_child

PYTHON = sys.executable
PERF = Path(__file__).resolve().parent
REPO = PERF.parents[1]
OVERHEAD_INSTANCES = 1000
MEASURES = (
    "list",
    "demo",
    "memory",
    "html",
    "overhead",
    "instructions",
    "concurrency",
    "rate_limit",
)


@dataclass
class Side:
    """One commit, exported into `tree`."""

    name: str
    commit: str
    tree: Path
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    """One command's wall seconds, CPU seconds (its own and its waited-for children's) and peak
    resident MB (the largest of them)."""

    wall: float
    cpu: float
    peak_mb: float


def export(commit: str, into: Path) -> str:
    """`commit`'s files in `into`; its short hash."""
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "--verify", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        raise SystemExit(
            f"{commit!r} is not a commit of {REPO}. Pass --before/--after as a hash, tag or "
            "branch (git log --oneline lists them)."
        )
    short = found.stdout.strip()
    into.mkdir(parents=True)
    archive = subprocess.Popen(["git", "-C", str(REPO), "archive", short], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise SystemExit(f"git archive {commit} failed")
    return short


def run(side: Side, args: list[str], cwd: Path) -> Run:
    """`python -m composer ARGS` (or `python ARGS` when ARGS[0] is `-c`) as `side` runs it."""
    argv = [PYTHON, *args] if args[0] == "-c" else [PYTHON, "-m", "composer", *args]
    try:
        wall, peak_mb, cpu = run_child(argv, side.env, cwd)
    except SystemExit as failed:
        raise SystemExit(f"{side.name} ({side.commit}): {failed}") from None
    return Run(wall, cpu, peak_mb)


def perf_script(side: Side, name: str, args: list[str], cwd: Path) -> str:
    """This folder's perf script `name` run on `side`'s composer; its standard output."""
    done = subprocess.run(
        [PYTHON, str(PERF / f"{name}.py"), *args],
        env=side.env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"{side.name} ({side.commit}): {name}.py failed ({done.returncode}):\n"
            f"{done.stderr[-4000:]}"
        )
    return done.stdout


def orchestration(rounds: list[dict[str, Any]]) -> str:
    """`overhead.py`'s CPU ratios from `rounds` (its --json): minimums, median, own share."""
    low = {p: min(r[p]["cpu"] for r in rounds) for p in ("plain", "graphs", "composer", "models")}
    each = [(r["composer"]["cpu"] - r["plain"]["cpu"]) / r["graphs"]["cpu"] for r in rounds]
    own = [1 + (r["composer"]["cpu"] - r["models"]["cpu"]) / r["graphs"]["cpu"] for r in rounds]
    n = OVERHEAD_INSTANCES
    text = (
        f"{(low['composer'] - low['plain']) / low['graphs']:.2f}x from minimums, "
        f"{statistics.median(each):.2f}x median (rounds {min(each):.2f} to {max(each):.2f}), "
        f"own share beyond LangGraph + models {statistics.median(own):.2f}x; per instance at "
        f"best: composer {low['composer'] / n * 1000:.2f} ms, LangGraph + models "
        f"{low['models'] / n * 1000:.2f}, LangGraph alone {low['graphs'] / n * 1000:.2f}, "
        f"plain {low['plain'] / n * 1000:.2f}"
    )
    if "floor" in rounds[0]:
        beyond = [
            1 + (r["composer"]["cpu"] - r["models"]["cpu"] - r["floor"]["cpu"]) / r["graphs"]["cpu"]
            for r in rounds
        ]
        text += f"; beyond the store's floor too {statistics.median(beyond):.2f}x"
    return text


COUNTED = ("nothing", "plain", "graphs", "models", "composer")
"""`overhead.py --count-phase`'s phases; "nothing" is counting's own cost, subtracted."""


def count_phase(side: Side, name: str, n: int, cwd: Path) -> float:
    """Instructions of `overhead.py`'s phase `name` on `n` instances of `side`'s composer."""
    dump = cwd / f"{side.name}-{name}.callgrind"
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    command += [f"--callgrind-out-file={dump}", PYTHON, str(PERF / "overhead.py")]
    command += ["--count-phase", name, "--instances", str(n)]
    env = {**side.env, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(
            f"{side.name} ({side.commit}): counting {name} failed ({done.returncode}):\n"
            f"{done.stderr[-4000:]}"
        )
    totals = re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE)
    if totals is None:
        raise SystemExit(f"{dump} has no totals line: is valgrind's callgrind installed?")
    return float(totals.group(1))


def instructions(counts: dict[str, float], n: int) -> str:
    """Per-instance instructions of each phase (less counting's cost) and the ratios."""
    per = {name: (counts[name] - counts["nothing"]) / n / 1e6 for name in COUNTED[1:]}
    ratio = (per["composer"] - per["plain"]) / per["graphs"]
    own = 1 + (per["composer"] - per["models"]) / per["graphs"]
    phases = ", ".join(f"{name} {per[name]:.3f}" for name in COUNTED[1:])
    return (
        f"M instructions an instance: {phases}; (composer - plain) / LangGraph alone "
        f"{ratio:.2f}x, own share beyond LangGraph + models {own:.2f}x (composer - LangGraph + "
        f"models: {per['composer'] - per['models']:.3f} M)"
    )


QUOTED = {
    "concurrency": ("[", "ratio composer/plain"),
    "rate_limit": ("server:", "plain   :", "composer:"),
}
"""The scripts run once on each commit, and the starts of the lines quoted from each."""


def quoted(output: str, starts: tuple[str, ...]) -> str:
    """The lines of a script's `output` that start with one of `starts`, joined."""
    return " | ".join(
        " ".join(line.split()) for line in output.splitlines() if line.lstrip().startswith(starts)
    )


def demo_args(side: Side, out: Path, per: int | None = None) -> list[str]:
    """The 460-task demo's arguments as `side` runs it (`--no-uni-mmmu` only where it exists)."""
    args = demo_argv(side.tree, out, with_unimmmu=False)[3:]  # after `python -m composer`
    return args if per is None else [*args, "--n-per-category", str(per)]


def pairs(
    count: int, sides: tuple[Side, Side], command: Callable[[Side, int], Run]
) -> dict[str, list[Run]]:
    """`count` pairs, before then after each time."""
    runs: dict[str, list[Run]] = {side.name: [] for side in sides}
    for i in range(count):
        for side in sides:
            runs[side.name].append(command(side, i))
    return runs


def line(label: str, runs: dict[str, list[Run]], sides: tuple[Side, Side]) -> str:
    """Medians of each side, the range, and the paired ratio of wall seconds."""
    before, after = (runs[side.name] for side in sides)

    def summary(found: list[Run]) -> str:
        walls = [r.wall for r in found]
        return (
            f"{statistics.median(walls):.2f} s wall median ({min(walls):.2f} to "
            f"{max(walls):.2f}; {' '.join(f'{w:.2f}' for w in walls)}), "
            f"{statistics.median(r.cpu for r in found):.2f} s CPU, "
            f"{max(r.peak_mb for r in found):.0f} MB"
        )

    paired = statistics.median(a.wall / b.wall for a, b in zip(after, before, strict=True))
    return (
        f"{label}, {len(before)} pairs: {sides[0].name} {sides[0].commit} {summary(before)}; "
        f"{sides[1].name} {sides[1].commit} {summary(after)}; paired {paired:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="76691d5", help="the commit before issue 26")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--pairs", type=int, default=8, help="for list graphs and the demo")
    parser.add_argument("--memory-pairs", type=int, default=2)
    parser.add_argument("--html-pairs", type=int, default=3)
    parser.add_argument("--html-instances", type=int, default=10_000)
    parser.add_argument("--overhead-pairs", type=int, default=3)
    parser.add_argument("--overhead-rounds", type=int, default=5, help="rounds in each run")
    parser.add_argument("--count-instances", type=int, default=200, help="for instructions")
    parser.add_argument("--only", default=",".join(MEASURES), help="measures, comma-separated")
    args = parser.parse_args()
    only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = sorted(set(only) - set(MEASURES))
    if unknown:
        parser.error(f"--only: no measure {', '.join(unknown)} (there are {', '.join(MEASURES)})")
    if "instructions" in only and shutil.which("valgrind") is None:
        parser.error(
            "the instructions measure runs valgrind's callgrind, which is not installed "
            "(apt-get install valgrind), or leave it out: --only "
            + ",".join(m for m in MEASURES if m != "instructions")
        )
    with tempfile.TemporaryDirectory(prefix="sitting-") as work_dir:
        work = Path(work_dir)
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        base["PYTHONPYCACHEPREFIX"] = str(work / "bytecode")
        sides: tuple[Side, Side] = tuple(  # type: ignore[assignment]
            Side(name, "", work / name) for name in ("before", "after")
        )
        for side, commit in zip(sides, (args.before, args.after), strict=True):
            side.commit = export(commit, side.tree)
            side.env = {**base, "PYTHONPATH": str(side.tree)}
        outputs = work / "out"
        outputs.mkdir()
        made = iter(range(1_000_000))

        def new(name: str) -> Path:
            return outputs / f"{name}-{next(made)}"

        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average {load}", flush=True)
        print(f"{time.strftime('%H:%M:%S')} warming the bytecode", file=sys.stderr, flush=True)
        for side in sides:  # untimed: every module the commands import, compiled once
            run(side, ["list", "graphs"], work)
            run(side, demo_args(side, new(f"warm-{side.name}")), work)
        lines = []
        if "list" in only:
            got = pairs(args.pairs, sides, lambda side, i: run(side, ["list", "graphs"], work))
            lines.append(line("composer list graphs", got, sides))
            print(lines[-1], flush=True)
        if "demo" in only:
            got = pairs(
                args.pairs,
                sides,
                lambda side, i: run(side, demo_args(side, new(f"demo-{side.name}")), work),
            )
            lines.append(line("composer demo (460 tasks)", got, sides))
            print(lines[-1], flush=True)
        if "memory" in only:
            peaks: dict[int, dict[str, list[Run]]] = {}
            for per in (10, 60):

                def demo_at(side: Side, i: int, per: int = per) -> Run:
                    return run(side, demo_args(side, new(f"mem{per}-{side.name}"), per), work)

                peaks[per] = pairs(args.memory_pairs, sides, demo_at)
                lines.append(line(f"composer demo --n-per-category {per}", peaks[per], sides))
                print(lines[-1], flush=True)

            def peak(per: int, side: Side) -> float:
                return max(r.peak_mb for r in peaks[per][side.name])

            grown = [
                f"{side.name} {peak(60, side):.0f} MB against {peak(10, side):.0f} MB: "
                f"{peak(60, side) / peak(10, side):.2f}x"
                for side in sides
            ]
            print(f"peak memory, 60 per category against 10: {'; '.join(grown)}", flush=True)
        if "html" in only:
            stores = {}
            for side in sides:
                store = work / f"store-{side.name}" / "run"
                script = (
                    "import sys; from pathlib import Path; "
                    f"sys.path.insert(0, {str(side.tree / 'tests' / 'perf')!r}); "
                    "from report_scale import build; "
                    f"build(Path({str(store)!r}), {args.html_instances}, 256)"
                )
                print(
                    f"{time.strftime('%H:%M:%S')} building the {side.name} store",
                    file=sys.stderr,
                    flush=True,
                )
                run(side, ["-c", script], work)
                stores[side.name] = store
            got = pairs(
                args.html_pairs,
                sides,
                lambda side, i: run(
                    side,
                    ["report", str(stores[side.name]), "--format", "html"]
                    + ["--output", str(new(f"html-{side.name}"))],
                    work,
                ),
            )
            lines.append(
                line(f"composer report --format html ({args.html_instances:,} x 6)", got, sides)
            )
            print(lines[-1], flush=True)
        if "overhead" in only:
            found: dict[str, list[dict[str, Any]]] = {side.name: [] for side in sides}
            for i in range(args.overhead_pairs):
                for side in sides:
                    saved = new(f"overhead-{side.name}.json")
                    perf_script(
                        side,
                        "overhead",
                        ["--instances", str(OVERHEAD_INSTANCES), "--processes", "1"]
                        + ["--rounds", str(args.overhead_rounds), "--json", str(saved)],
                        work,
                    )
                    rounds = json.loads(saved.read_text())
                    found[side.name] += rounds
                    print(
                        f"{time.strftime('%H:%M:%S')} overhead.py, pair {i + 1}, {side.name}: "
                        f"{orchestration(rounds)}",
                        file=sys.stderr,
                        flush=True,
                    )
            for side in sides:
                lines.append(
                    f"orchestration (overhead.py, 1,000 instances, {len(found[side.name])} "
                    f"rounds in {args.overhead_pairs} processes, CPU), {side.name} "
                    f"{side.commit}: {orchestration(found[side.name])}"
                )
                print(lines[-1], flush=True)
        if "instructions" in only:
            n = args.count_instances
            jobs = [(side, name) for side in sides for name in COUNTED]
            with ThreadPoolExecutor(2) as pool:  # counts do not depend on the load
                totals = list(pool.map(lambda job: count_phase(job[0], job[1], n, work), jobs))
            for side in sides:
                counts = {
                    name: total for (s, name), total in zip(jobs, totals, strict=True) if s is side
                }
                lines.append(
                    f"instructions (callgrind, {n} instances), {side.name} {side.commit}: "
                    + instructions(counts, n)
                )
                print(lines[-1], flush=True)
        for name in QUOTED:
            if name not in only:
                continue
            for side in sides:
                output = perf_script(side, name, [], work)
                lines.append(
                    f"{name}.py, {side.name} {side.commit}: " + quoted(output, QUOTED[name])
                )
                print(lines[-1], flush=True)
        index = max(outputs.glob("html-after-*"), default=None)
        if index is not None:
            size = (index / "index.html").stat().st_size / 1e6
            print(f"the after side's HTML index: {size:.2f} MB", flush=True)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"{time.strftime('%H:%M:%S %Z')}, load average {load}", flush=True)


if __name__ == "__main__":
    main()
