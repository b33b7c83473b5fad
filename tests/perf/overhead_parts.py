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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    composer_run,
    graphs_alone,
    graphs_with_models,
    make_config,
    memory_folder,
    phase,
    plain_loop,
    store_floor,
    write_suite,
)
from store_floor import record

from composer.core.images import ImageStore
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
    graph_name: str, axis: Any, graph: Any, inputs: Mapping[str, Any], context: Any
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


def _callgrind(state: str) -> None:
    """Turn callgrind's counting on or off in this process (which runs under valgrind)."""
    command = ["callgrind_control", f"--instr={state}", str(os.getpid())]
    subprocess.run(command, check=True, capture_output=True)


async def _counted(work: Coroutine[Any, Any, Timed]) -> Timed:
    """`work`, its instructions counted (only its own: the phase's setup is left out)."""
    _callgrind("on")
    try:
        return await work
    finally:
        _callgrind("off")


def measure(root: Path, name: str, n: int, *, count: bool = False) -> tuple[float, int]:
    """One phase's CPU milliseconds an instance (a variant of composer, or a baseline), and the
    model calls it sent; with `count`, callgrind counts the phase's instructions."""
    run_dir = Path(tempfile.mkdtemp(dir=root))
    runner = Runner(make_config(root), run_dir / "run")
    work: Callable[[], Coroutine[Any, Any, Timed]]
    if name == "graphs":
        work = lambda: graphs_alone(runner)  # noqa: E731
    elif name == "models":
        work = lambda: graphs_with_models(runner, ImageStore(run_dir / "images"))  # noqa: E731
    elif name == "plain":
        work = lambda: plain_loop(runner, ImageStore(run_dir / "images"))  # noqa: E731
    elif name == "nothing":  # what counting itself costs: subtracted from every phase
        work = lambda: asyncio.sleep(0, Timed())  # noqa: E731
    else:
        work = lambda: composer_run(runner)  # noqa: E731
    try:
        with swapped(name):
            timed = phase(lambda: _counted(work()) if count else work())
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
            phase(lambda: _counted(work) if count else work)  # noqa: B023 - called at once


def count_instructions(n: int, folder: Path | None) -> dict[str, float]:
    """Each phase's instructions an instance, from its own process under callgrind (two at a
    time), less what counting costs."""
    with tempfile.TemporaryDirectory() as out:

        def one(name: str) -> float:
            dump = Path(out) / f"{name}.callgrind"
            command = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
            command += [f"--callgrind-out-file={dump}", sys.executable, __file__]
            command += ["--count-child", name, "--instances", str(n)]
            if folder is not None:
                command += ["--dir", str(folder)]
            subprocess.run(command, check=True, capture_output=True)
            totals = re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE)
            assert totals is not None, dump
            print(f"counted {name}", file=sys.stderr, flush=True)
            return float(totals.group(1))

        names = ["nothing", *NAMES, "plain", "floor"]
        with ThreadPoolExecutor(2) as pool:
            counts = dict(zip(names, pool.map(one, names), strict=True))
    return {name: (counts[name] - counts["nothing"]) / n for name in names[1:]}


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
    parser.add_argument("--count-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":  # as overhead.py: fixed dict layouts
        environment = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, *sys.argv], environment)
    n = args.instances
    if args.count_child is not None:
        count_child(args.count_child, n, args.dir)
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
