"""Commands as a user times them: `composer list graphs`, `composer demo`, the demo's peak memory.

Each command runs in a fresh process, as a user runs it, and is timed from outside; CPU time
and peak memory are the child's (`os.wait4`: its own and those of the processes it forked and
waited for, the demo's suite writer and its Uni-MMMU run beside; CPU summed, memory the largest
of them). On a loaded machine the wall time cannot show what the demo's second process saves,
as there is no free core for it. Baselines measured in the same run: a bare
`python -c "import composer.cli"` (the floor any command pays) for the two wall times, the demo
at 10 per category for the demo at `--per` per category, and, with `--baseline DIR`, the demo
run from another checkout (`git worktree add /tmp/base <commit>`) in turn with this one, for
its CPU seconds (on a loaded machine CPU seconds and ratios compare; wall times do not). Each
figure is the median of `--repeat` runs. Targets: list graphs <= 0.5 s and no langgraph
import; demo (460 tasks) <= 4 s on an idle machine; peak memory at 60 per category <= 1.2x
that at 10.

The script says first whether the commands compile composer's modules every time: an editable
install (`pip install -e`) where `PYTHONDONTWRITEBYTECODE` is set keeps no bytecode beside the
source, and every command compiles its modules again (the demo's 128: 0.2 s of CPU, before
the run starts; `composer list graphs`' 31: 0.05 s); the README's plain install carries its
bytecode. `--cached-bytecode` measures an editable checkout as the plain install runs: the
children may cache their bytecode, in a folder of their own (`PYTHONPYCACHEPREFIX`), filled
by one run before any is timed.

    python tests/perf/commands.py [--repeat 3] [--per 60] [--skip-memory] [--baseline DIR]
        [--cached-bytecode]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
HERE = Path(__file__).resolve().parents[2]
"""The checkout this script belongs to: the code measured."""

ENV: dict[str, str] = dict(os.environ)
"""The children's environment (`--cached-bytecode` changes it)."""


def bytecode_note() -> str:
    """Whether the commands run compile composer's modules every time, as one line."""
    import composer

    source = Path(composer.__file__)
    cached = Path(importlib.util.cache_from_source(str(source))).is_file()
    if "PYTHONPYCACHEPREFIX" in ENV:
        return f"bytecode: cached in {ENV['PYTHONPYCACHEPREFIX']} (--cached-bytecode)"
    if ENV.get("PYTHONDONTWRITEBYTECODE") and not cached:
        return (
            f"bytecode: none beside {source.parent} and PYTHONDONTWRITEBYTECODE is set: every "
            "command compiles composer's modules (an editable install; the README's plain "
            "install carries its bytecode; --cached-bytecode measures as that runs)"
        )
    return f"bytecode: cached beside {source.parent}" if cached else "bytecode: written on use"


def run_child(
    argv: list[str], env: dict[str, str], cwd: Path | str | None = None
) -> tuple[float, float, float]:
    """Wall seconds, peak resident MB and CPU seconds of one child process running `argv`.

    CPU and memory are `os.wait4`'s: the child's own and those of the processes it forked and
    waited for. Its stderr goes to a file, not a pipe (a full pipe would block the timed
    command), and is shown if it fails.
    """
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env=env, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")[-4000:]
            raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss / 1024, cpu  # ru_maxrss is in KiB on Linux


def timed(argv: list[str], checkout: Path | None = None) -> tuple[float, float, float]:
    """`run_child` in this script's environment.

    With `checkout`, the child imports composer from there (run from outside any checkout, so
    the current folder's `composer` is not the one imported).
    """
    if checkout is None:
        return run_child(argv, ENV)
    return run_child(argv, {**ENV, "PYTHONPATH": str(checkout)}, tempfile.gettempdir())


def median_of(
    repeat: int, argv: list[str], fresh: Path | None = None
) -> tuple[float, float, float]:
    """Median wall seconds, peak MB and CPU seconds of `repeat` runs, `fresh` removed before."""
    runs = []
    for _ in range(repeat):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        runs.append(timed(argv))
    wall, mb, cpu = (statistics.median(r[k] for r in runs) for k in range(3))
    return wall, mb, cpu


def demo_argv(checkout: Path, out: Path, *, with_unimmmu: bool) -> list[str]:
    """`composer demo --quiet` into `out` as `checkout` runs it (one that has no Uni-MMMU part
    needs no `--no-uni-mmmu`)."""
    shown = subprocess.run(
        [PYTHON, "-m", "composer", "demo", "--help"],
        capture_output=True,
        text=True,
        env={**ENV, "PYTHONPATH": str(checkout)},
        cwd=tempfile.gettempdir(),
    ).stdout
    only = [] if with_unimmmu or "--no-uni-mmmu" not in shown else ["--no-uni-mmmu"]
    return [PYTHON, "-m", "composer", "demo", "--quiet", *only, "--out", str(out)]


def compare_demo(
    repeat: int, baseline: Path, tmp: Path, *, with_unimmmu: bool
) -> tuple[float, float, float]:
    """Median CPU seconds of the demo from this checkout and from `baseline`, run in turn.

    Returns (this checkout's CPU, the baseline's CPU, this checkout's wall seconds).
    """
    ours: list[float] = []
    theirs: list[float] = []
    walls: list[float] = []
    for _ in range(repeat):
        for checkout, into in ((HERE, ours), (baseline, theirs)):
            out = tmp / f"demo-{'here' if checkout is HERE else 'base'}"
            shutil.rmtree(out, ignore_errors=True)
            wall, _, cpu = timed(demo_argv(checkout, out, with_unimmmu=with_unimmmu), checkout)
            into.append(cpu)
            if checkout is HERE:
                walls.append(wall)
    return statistics.median(ours), statistics.median(theirs), statistics.median(walls)


def main() -> None:
    """Measure and print each figure with its ratio to its baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per", type=int, default=60, help="per category for the memory run")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. a `git worktree` at an earlier commit) to run the demo "
        "from in turn with this one, for a ratio of CPU seconds",
    )
    parser.add_argument(
        "--skip-commands", action="store_true", help="only the demo against --baseline"
    )
    parser.add_argument(
        "--cached-bytecode",
        action="store_true",
        help="let the commands cache their bytecode (in a folder of their own, filled by one "
        "run first), as the README's plain install runs",
    )
    args = parser.parse_args()
    if args.baseline is not None:
        args.baseline = args.baseline.resolve()
        if not (args.baseline / "composer" / "__main__.py").is_file():
            raise SystemExit(
                f"--baseline: {args.baseline} is not a composer checkout (no "
                "composer/__main__.py). Make one with `git worktree add /tmp/base <commit>`."
            )
    with tempfile.TemporaryDirectory() as pycache:
        if args.cached_bytecode:
            ENV.pop("PYTHONDONTWRITEBYTECODE", None)
            ENV["PYTHONPYCACHEPREFIX"] = pycache
            with tempfile.TemporaryDirectory() as warm:
                for checkout in (HERE, args.baseline):  # every module the demo imports
                    if checkout is not None:
                        argv = demo_argv(checkout, Path(warm) / "demo", with_unimmmu=True)
                        timed(argv, checkout)
                        shutil.rmtree(Path(warm) / "demo")
        print(bytecode_note())
        measure(args)


def measure(args: argparse.Namespace) -> None:
    """Each figure, as `main` was asked."""
    if args.baseline is not None:
        baseline = args.baseline
        with tempfile.TemporaryDirectory() as tmp:
            for with_unimmmu in (False, True):
                ours, theirs, wall = compare_demo(
                    args.repeat, baseline, Path(tmp), with_unimmmu=with_unimmmu
                )
                name = "composer demo" + ("" if with_unimmmu else " --no-uni-mmmu")
                print(
                    f"{name}: {ours:.2f} s CPU ({wall:.1f} s wall), baseline {baseline}: "
                    f"{theirs:.2f} s CPU: {ours / theirs:.2f}x (median of {args.repeat}, "
                    "run in turn; target <= 4 s on an idle machine)"
                )
    if args.skip_commands:
        return
    cli = [PYTHON, "-m", "composer"]

    floor, _, floor_cpu = median_of(args.repeat, [PYTHON, "-c", "import composer.cli"])
    listing, _, listing_cpu = median_of(args.repeat, [*cli, "list", "graphs"])
    probe = (
        "import sys; from typer.testing import CliRunner; from composer.cli.base import app; "
        "import composer.cli.commands; "
        "r = CliRunner().invoke(app, ['list', 'graphs']); assert r.exit_code == 0, r.output; "
        "print('langgraph' in sys.modules)"
    )
    imported = subprocess.run(
        [PYTHON, "-c", probe], capture_output=True, text=True, check=True, env=ENV
    ).stdout.strip()
    print(
        f"import composer.cli (floor): {floor:.2f} s, {floor_cpu:.2f} s CPU "
        f"(median of {args.repeat})"
    )
    print(
        f"composer list graphs: {listing:.2f} s, {listing_cpu:.2f} s CPU, "
        f"{listing / floor:.2f}x the floor; "
        f"imports langgraph: {imported} (target <= 0.5 s, no langgraph)"
    )

    # The 460-task demo; a version that also runs the Uni-MMMU-style suite is told not to.
    shown = subprocess.run([*cli, "demo", "--help"], capture_output=True, text=True, env=ENV).stdout
    only = ["--no-uni-mmmu"] if "--no-uni-mmmu" in shown else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        demo = [*cli, "demo", "--quiet", *only, "--out", str(out)]
        wall, small_mb, cpu = median_of(args.repeat, demo, fresh=out)
        print(
            f"composer demo {' '.join(only)} (460 tasks): {wall:.2f} s, {cpu:.2f} s CPU, "
            f"{wall / floor:.1f}x the floor (target <= 4 s on an idle machine)"
        )
        if not args.skip_memory:
            shutil.rmtree(out, ignore_errors=True)
            big_wall, big_mb, _ = timed([*demo, "--n-per-category", str(args.per)])
            print(
                f"peak memory: {small_mb:.0f} MB at 10 per category, {big_mb:.0f} MB at "
                f"{args.per} ({big_wall:.1f} s): {big_mb / small_mb:.2f}x (target <= 1.2x)"
            )


if __name__ == "__main__":
    main()
