"""What each part of composer's run costs an instance, against LangGraph alone: by substitution.

`overhead.py` gives composer's overhead as one figure; this script splits it. It runs
`overhead.py`'s composer phase (the same suite, config and mock models) as it is, and again
with one part swapped for the least that keeps the run working. Timed (the default), each
variant runs beside a run of composer as it is (the pair in a random order; the pairs and the
baselines shuffled in each round), in this one process, after one untimed run of each:

- `call layer`: a model call goes straight to the model (no cache key, no call row, no tally,
  no adaptive limit, no deadline, no retry); an image's wholeness check is kept;
- `store commits`: the queued rows are never written (every transaction's future resolves at
  once; the rows are still built and encoded);
- `task events`: the graph streamed for its states only (`stream_mode="values"`: no task
  events, so no check of what each node returned and no node named on a failure);
- `deadlines`: no deadline around an attempt;
- `all four`: every swap above at once.

A part's cost is the base minus its variant (per instance, the median of its pairs' differences,
and from each's minimum over the rounds), printed with its share of LangGraph alone (the
`graphs` phase, measured in the same rounds), beside composer's own share, 1 + (composer -
LangGraph + models) / LangGraph alone, from the minimums, for the base and for each variant.
The swaps drop features; they measure, they are not a configuration. CPU seconds of the
process; ratios hold on a shared machine, times do not.

    python tests/perf/overhead_parts.py [--instances 1000] [--rounds 8] [--dir DIR]
    python tests/perf/overhead_parts.py --instructions [--instances 1000]

Times on a shared machine swing by 2x from one minute to the next, and a part of 0.05 ms an
instance drowns in that. `--instructions` counts instead: each phase (and each variant) runs
in a process of its own under valgrind's callgrind, once untimed and once counted (counting on
only while the phase runs, `callgrind_control`), and the instructions are the same from run to
run within about 0.1%, whatever else the machine does (about 10 minutes at 1,000 instances,
two processes at a time). It counts `overhead.py`'s plain loop and store floor too, and prints
`overhead.py`'s ratio in instructions. Instructions are not time (a cache miss or a system
call costs more than an add; composer's own instructions run slower than LangGraph's, so its
ratio in CPU time is higher), but what a part removes in instructions it removes in work.

`--caches` says why they are not time. Each phase (composer, LangGraph + models, LangGraph
alone, the plain loop) runs under callgrind's cache and branch simulation, its last level set to
this CPU's own L2 (`/sys/devices/system/cpu/cpu0/cache/index2`; 1 MiB, 16-way if absent), and
the script prints per instance: instructions, L1 and L2 misses (data read, data write,
instruction), branch mispredictions, and composer's excess over LangGraph + models in each,
against its excess in instructions; then, for composer and LangGraph + models, the L2 misses by
the shared object whose code missed (the interpreter, libc, SQLite, ...). An L2 miss costs tens
of cycles where an instruction costs a fraction of one: an excess of misses out of proportion to
the excess of instructions is time that instruction counts do not show (about 4 minutes at 200
instances).

    python tests/perf/overhead_parts.py --instructions --caches [--instances 200]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

from overhead import (
    Timed,
    counted,
    make_config,
    memory_folder,
    phase,
    phase_work,
    store_floor,
    write_suite,
)
from store_floor import record

from composer.evaluation import execute
from composer.evaluation.calls import CallLayer
from composer.evaluation.deadlines import Deadlines
from composer.evaluation.runner import Runner
from composer.evaluation.store_writer import RunWriter


async def _straight_call(  # type: ignore[no-untyped-def]
    self, specialist, settings, limit, method, request, send, role="", check=None
) -> dict[str, Any]:
    """`CallLayer.call` without the layer: the model's reply, its image checked whole."""
    reply: dict[str, Any] = await send()
    reply["latency_s"] = 0.0
    if check is not None:
        await check(reply)
    return reply


def _no_commit(self: RunWriter) -> None:
    """`RunWriter._commit_pending` that writes nothing: the waiting writers go on at once."""
    committed = self._committed
    self._pending, self._committed = [], None
    assert committed is not None
    committed.set_result(None)


async def _states_only(
    graph_name: str,
    axis: Any,
    graph: Any,
    inputs: Mapping[str, Any],
    context: Any,
    **_: Any,  # timeout_s (None here: overhead.py's run file sets no task_timeout_s)
) -> AsyncIterator[dict[str, Any]]:
    """`stream_strategy` without task events: the states alone."""
    async for state in graph.astream(dict(inputs), context=context, stream_mode="values"):
        yield state


def _no_deadline(self: Deadlines, seconds: float) -> contextlib.nullcontext[None]:
    return contextlib.nullcontext()


SWAPS: dict[str, list[tuple[Any, str, Any]]] = {
    "call layer": [(CallLayer, "call", _straight_call)],
    "store commits": [(RunWriter, "_commit_pending", _no_commit)],
    "task events": [(execute, "stream_strategy", _states_only)],
    "deadlines": [(Deadlines, "after", _no_deadline)],
}
SWAPS["all four"] = [swap for swaps in list(SWAPS.values()) for swap in swaps]


@contextlib.contextmanager
def swapped(name: str) -> Iterator[None]:
    """The variant `name`'s parts swapped in for the block (none for `base`)."""
    with contextlib.ExitStack() as stack:
        for owner, attribute, stand_in in SWAPS.get(name, []):
            stack.enter_context(mock.patch.object(owner, attribute, stand_in))
        yield


def measure(root: Path, name: str, n: int, *, count: bool = False) -> tuple[float, int]:
    """One phase's CPU milliseconds an instance (a variant of composer, or a baseline), and the
    model calls it sent; with `count`, callgrind counts the phase's instructions."""
    run_dir = Path(tempfile.mkdtemp(dir=root))
    runner = Runner(make_config(root), run_dir / "run")
    # A baseline, "nothing" (what counting itself costs: subtracted from every phase), or a
    # variant of composer (its parts swapped below).
    baseline = name in ("graphs", "models", "plain", "nothing")
    work: Callable[[], Coroutine[Any, Any, Timed]] = functools.partial(
        phase_work, name if baseline else "composer", runner, run_dir
    )
    try:
        with swapped(name):
            timed = phase(lambda: counted(work()) if count else work())
    finally:
        runner.close()
    return timed.cpu / n * 1000, timed.calls


NAMES = ["base", *SWAPS, "graphs", "models"]


def count_child(name: str, n: int, folder: Path | None) -> None:
    """In a process under callgrind: one untimed run of `name`, then one counted.

    `floor` is `overhead.py`'s store floor: the rows a composer run stored (recorded from one
    run, uncounted), written with sqlite3 alone.
    """
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        root = Path(tmp)
        write_suite(root / "data", n)
        if name != "floor":
            measure(root, name, n)
            measure(root, name, n, count=True)
            return
        transactions = record(Runner(make_config(root), Path(tempfile.mkdtemp(dir=root)) / "run"))
        for count in (False, True):
            path = Path(tempfile.mkdtemp(dir=root)) / "floor.db"
            work = store_floor(path, transactions)
            phase(lambda: counted(work) if count else work)  # noqa: B023 - called at once


def _runcounted(
    name: str, n: int, folder: Path | None, dump: Path, simulate: list[str] | None = None
) -> dict[str, float]:
    """`count_child(name)` under callgrind (`simulate`: its cache and branch options); the
    counted phase's totals by event (`Ir`, and with `simulate` the misses too)."""
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", *(simulate or [])]
    command += [f"--callgrind-out-file={dump}", sys.executable, __file__]
    command += ["--count-child", name, "--instances", str(n)]
    if folder is not None:
        command += ["--dir", str(folder)]
    subprocess.run(command, check=True, capture_output=True)
    text = dump.read_text()
    events = re.search(r"^events: (.+)$", text, re.MULTILINE)
    totals = re.search(r"^totals: (.+)$", text, re.MULTILINE)
    assert events is not None and totals is not None, dump
    print(f"counted {name}", file=sys.stderr, flush=True)
    return dict(zip(events.group(1).split(), map(float, totals.group(1).split()), strict=False))


def count_instructions(n: int, folder: Path | None) -> dict[str, float]:
    """Each phase's instructions an instance, from its own process under callgrind (two at a
    time), less what counting costs."""
    with tempfile.TemporaryDirectory() as out:

        def one(name: str) -> float:
            return _runcounted(name, n, folder, Path(out) / f"{name}.callgrind")["Ir"]

        names = ["nothing", *NAMES, "plain", "floor"]
        with ThreadPoolExecutor(2) as pool:
            counts = dict(zip(names, pool.map(one, names), strict=True))
    return {name: (counts[name] - counts["nothing"]) / n for name in names[1:]}


CACHE_PHASES = ["nothing", "base", "models", "graphs", "plain"]
"""The phases `--caches` simulates: composer as it is, its three baselines, and counting alone."""


def l2_geometry() -> tuple[int, int, int]:
    """This CPU's L2 cache (bytes, ways, line bytes), from sysfs; 1 MiB, 16-way, 64 if absent."""
    folder = Path("/sys/devices/system/cpu/cpu0/cache/index2")
    try:
        size = (folder / "size").read_text().strip()
        scale = {"K": 1024, "M": 1024 * 1024}.get(size[-1:], 1)
        ways = int((folder / "ways_of_associativity").read_text())
        line = int((folder / "coherency_line_size").read_text())
        return int(size.rstrip("KM")) * scale, ways, line
    except (OSError, ValueError):
        return 1024 * 1024, 16, 64


def self_cost_by_object(dump: Path, events: list[str]) -> dict[str, dict[str, float]]:
    """Each shared object's own cost (not its calls') in a callgrind dump, by event.

    Cost lines follow `ob=` (the object whose code runs) and `fn=`; the cost line right after
    a `calls=` line is the callee's inclusive cost and is not counted. Names are compressed:
    `ob=(3) /lib/x.so` (or `cob=`, a callee's) names object 3, a later `ob=(3)` refers to it.
    """
    names: dict[str, str] = {}
    totals: dict[str, dict[str, float]] = {}
    columns: list[str] = []
    positions = 1  # `positions: line` unless the dump says otherwise (`instr line`)
    current, skip = "?", False
    for line in dump.read_text().splitlines():
        if line.startswith("events: "):
            columns = line.split()[1:]
        elif line.startswith("positions: "):
            positions = len(line.split()) - 1
        elif line.startswith(("ob=", "cob=")):  # a callee's object may be named first
            ref, _, name = line.partition("=")[2].partition(" ")
            if name:
                names[ref] = Path(name).name
            if line.startswith("ob="):
                current = names.get(ref, ref)
        elif line.startswith("calls="):
            skip = True
        elif line and (line[0].isdigit() or line[0] in "+-*"):
            if skip:
                skip = False
                continue
            values = line.split()[positions:]
            mine = totals.setdefault(current, dict.fromkeys(events, 0.0))
            for event, value in zip(columns, values, strict=False):
                if event in mine:
                    mine[event] += float(value)
    return totals


def count_caches(n: int, folder: Path | None) -> None:
    """`--caches`: each phase under cache and branch simulation, its L2 this CPU's; printed."""
    size, ways, line = l2_geometry()
    simulate = ["--cache-sim=yes", "--branch-sim=yes", f"--LL={size},{ways},{line}"]
    with tempfile.TemporaryDirectory() as out:
        dumps = {name: Path(out) / f"{name}.callgrind" for name in CACHE_PHASES}
        with ThreadPoolExecutor(2) as pool:
            found = list(
                pool.map(lambda name: _runcounted(name, n, folder, dumps[name], simulate), dumps)
            )
        raw = dict(zip(CACHE_PHASES, found, strict=True))
        counts = {
            name: {
                event: (value - raw["nothing"].get(event, 0.0)) / n for event, value in c.items()
            }
            for name, c in raw.items()
            if name != "nothing"
        }
        l2 = ["DLmr", "DLmw", "ILmr"]
        objects = {
            name: self_cost_by_object(dumps[name], ["Ir", *l2]) for name in ("base", "models")
        }
    print_caches(n, (size, ways, line), counts, objects)


CACHE_ROWS = [
    ("instructions", ["Ir"]),
    ("L1 misses, data read", ["D1mr"]),
    ("L1 misses, data write", ["D1mw"]),
    ("L1 misses, instructions", ["I1mr"]),
    ("L2 misses, data read", ["DLmr"]),
    ("L2 misses, data write", ["DLmw"]),
    ("L2 misses, instructions", ["ILmr"]),
    ("L2 misses, all", ["DLmr", "DLmw", "ILmr"]),
    ("branches mispredicted", ["Bcm", "Bim"]),
]


def print_caches(
    n: int,
    geometry: tuple[int, int, int],
    counts: dict[str, dict[str, float]],
    objects: dict[str, dict[str, dict[str, float]]],
) -> None:
    """Per instance, each phase's events and composer's excess over LangGraph + models."""
    size, ways, line = geometry
    print(
        f"per instance, {n} instances (callgrind cache and branch simulation; L2 {size // 1024} "
        f"KiB, {ways}-way, {line} B lines, as this CPU's)"
    )
    header = ["composer", "LG + models", "LG alone", "plain loop", "composer - LG+models"]
    print(f"  {'':<26}" + "".join(f"{h:>14}" for h in header[:4]) + f"{header[4]:>24}")
    base_ir = counts["base"]["Ir"] - counts["models"]["Ir"]
    for label, events in CACHE_ROWS:
        values = [
            sum(counts[p].get(e, 0.0) for e in events)
            for p in ("base", "models", "graphs", "plain")
        ]
        excess = values[0] - values[1]
        share = excess / values[1] if values[1] else 0.0
        print(
            f"  {label:<26}"
            + "".join(f"{v:>14,.0f}" for v in values)
            + f"{excess:>14,.0f} (+{share:.0%})"
        )
    print(
        f"  composer's excess in instructions: +{base_ir / counts['models']['Ir']:.0%}; an excess "
        "of misses above it is time the instruction count does not show"
    )
    print("  L2 misses by the object whose code missed (data read + write + instructions):")
    both = objects["base"].keys() | objects["models"].keys()

    def misses(phase: str, name: str) -> float:
        found = objects[phase].get(name, {})
        return sum(found.get(e, 0.0) for e in ("DLmr", "DLmw", "ILmr")) / n

    ranked = sorted(both, key=lambda name: -misses("base", name))[:8]
    for name in ranked:
        base, models = misses("base", name), misses("models", name)
        ir = objects["base"].get(name, {}).get("Ir", 0.0) / n
        print(
            f"    {re.sub(r'[.]cpython-.*', '', name)[:30]:<30} composer {base:>8,.0f}  "
            f"LG + models {models:>8,.0f}  "
            f"({ir / 1e3:,.0f} k instructions)"
        )


def print_instructions(n: int, counts: dict[str, float]) -> None:
    """The parts' costs in instructions: the same every run, whatever else the machine does."""
    graphs, models = counts["graphs"], counts["models"]
    print(
        f"instructions per instance (callgrind, {n} instances, one counted run each, exact "
        f"to about 0.1%): LangGraph alone {graphs / 1e6:.2f} M, LangGraph + models "
        f"{models / 1e6:.2f} M, composer as it is {counts['base'] / 1e6:.2f} M; own share "
        f"{1 + (counts['base'] - models) / graphs:.2f}x"
    )
    for name in SWAPS:
        part = counts["base"] - counts[name]
        print(
            f"  without {name:<14} {counts[name] / 1e6:.2f} M; the part costs "
            f"{part / 1e6:.3f} M an instance, {part / graphs:.2f}x LangGraph alone; own share "
            f"without it {1 + (counts[name] - models) / graphs:.2f}x"
        )
    left = counts["all four"] - models
    print(
        f"  left without all four (the runner, the judges, the rows built and encoded): "
        f"{left / 1e6:.3f} M an instance, {left / graphs:.2f}x LangGraph alone"
    )
    floor = counts["floor"]
    plain = counts["plain"]
    print(
        f"  the plain asyncio loop {plain / 1e6:.2f} M an instance; overhead.py's ratio, "
        f"(composer - plain) / LangGraph alone: {(counts['base'] - plain) / graphs:.2f}x; the "
        f"least a durable harness reads, (LangGraph + models + floor - plain) / LangGraph "
        f"alone: {(models + floor - plain) / graphs:.2f}x"
    )
    print(
        f"  the store's floor (overhead.py's: the same rows, sqlite3 alone) {floor / 1e6:.3f} M "
        f"an instance, {floor / graphs:.2f}x LangGraph alone; composer's own share beyond it, "
        f"1 + (composer - LangGraph + models - floor) / LangGraph alone: "
        f"{1 + (counts['base'] - models - floor) / graphs:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--dir", type=Path, default=memory_folder())
    parser.add_argument("--seed", type=int, default=0, help="the order of each round's phases")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions with callgrind instead of timing (valgrind; no rounds)",
    )
    parser.add_argument(
        "--caches",
        action="store_true",
        help="with --instructions: simulate the caches and branches too (L2 misses by phase)",
    )
    parser.add_argument("--count-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":  # as overhead.py: fixed dict layouts
        environment = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, *sys.argv], environment)
    n = args.instances
    if args.count_child is not None:
        count_child(args.count_child, n, args.dir)
        return
    if args.caches and not args.instructions:
        parser.error("--caches simulates under callgrind: use it with --instructions")
    if args.caches:
        count_caches(n, args.dir)
        return
    if args.instructions:
        print_instructions(n, count_instructions(n, args.dir))
        return
    variants = list(SWAPS)
    runs: dict[str, list[float]] = {name: [] for name in NAMES}
    saved: dict[str, list[float]] = {name: [] for name in variants}
    calls = 0
    order = random.Random(args.seed)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        write_suite(root / "data", n)
        for name in runs:  # untimed: the first run of each pays its lazy imports and caches
            measure(root, name, n)
        for i in range(args.rounds):
            turn = [*variants, "graphs", "models"]
            order.shuffle(turn)
            for name in turn:
                if name not in SWAPS:
                    runs[name].append(measure(root, name, n)[0])
                    continue
                pair = [name, "base"]  # each variant beside a base run, in a random order
                order.shuffle(pair)
                cpu = {which: measure(root, which, n) for which in pair}
                runs[name].append(cpu[name][0])
                runs["base"].append(cpu["base"][0])
                saved[name].append(cpu["base"][0] - cpu[name][0])
                calls = cpu["base"][1]
            print(f"round {i + 1} of {args.rounds}", file=sys.stderr, flush=True)

    low = {name: min(values) for name, values in runs.items()}
    graphs = statistics.median(runs["graphs"])

    def own(name: str) -> float:
        return 1 + (low[name] - low["models"]) / low["graphs"]

    print(
        f"instances: {n}, model calls per instance: {calls / n:.1f}; {args.rounds} rounds, each "
        f"variant beside a run of composer as it is, in a shuffled order (files in "
        f"{args.dir or tempfile.gettempdir()})"
    )
    print(
        f"CPU ms per instance, minimum (median): LangGraph alone {low['graphs']:.3f} "
        f"({graphs:.3f}), LangGraph + models {low['models']:.3f} "
        f"({statistics.median(runs['models']):.3f}), composer as it is {low['base']:.3f} "
        f"({statistics.median(runs['base']):.3f})"
    )
    print(
        "  own share, 1 + (composer - LangGraph + models) / LangGraph alone, from the minimums: "
        f"{own('base'):.2f}x"
    )
    for name in variants:
        middle = statistics.median(saved[name])
        print(
            f"  without {name:<14} {low[name]:.3f} ({statistics.median(runs[name]):.3f}); the "
            f"part costs {middle:+.3f} ms/instance, median of its pairs (pairs "
            f"{min(saved[name]):+.3f} to {max(saved[name]):+.3f}), {middle / graphs:+.2f}x "
            f"LangGraph alone; from the minimums {low['base'] - low[name]:+.3f}; own share "
            f"without it {own(name):.2f}x"
        )
    print(
        f"  left without all four (the runner, the judges, the rows built and encoded, from the "
        f"minimums): {low['all four'] - low['models']:.3f} ms/instance, "
        f"{(low['all four'] - low['models']) / low['graphs']:.2f}x LangGraph alone"
    )


if __name__ == "__main__":
    main()
