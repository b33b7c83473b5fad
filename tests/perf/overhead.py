"""Orchestration overhead per instance: composer's runner against LangGraph alone.

Three phases make the same work on the same instances (500 UEG through
decompose-then-generate plus a two-question judge, 500 GEU through generate-then-reason per
1,000), with the same concurrency:

- plain: the same mock calls in a bare asyncio loop, no graph, no store;
- graphs: the same graphs with instant roles, no call layer, no store (LangGraph alone);
- composer: the runner, mock models through the call layer into a fresh run store.

composer's overhead is composer minus plain; the figure is that overhead against LangGraph
alone (target: at most 1.25x), in CPU seconds of the process (threads included) and in wall
seconds. On a shared machine the CPU ratio is the one that holds.

A fourth phase, outside the ratio, runs the same graphs with the plain loop's mock model as
every role and asks it the same judge questions (LangGraph + models: the model work without
composer's call layer, store or judge). The same model calls cost more there than in the
plain loop, though they are the same calls (cProfile: equal counts of every PIL and ImageStore
function, each about 1.2x to 1.4x slower, C encoders included): the mock's image code runs
between LangGraph's steps, not back to back, and finds the CPU's caches taken. Composer pays
that too, and the ratio counts it as composer's overhead; it is printed, with the overhead
over LangGraph + models against LangGraph alone.

A fifth phase, outside the ratio too, is the run store's floor (`store_floor.py`): the rows
composer's store wrote for the same instances (results, calls, scores, judgments), with the
same JSON text and in the same transactions, written with plain sqlite3 and nothing else (each
process records them once, untimed, from a composer run of its own). LangGraph + models + the
floor - plain is the least any harness that runs these graphs and keeps these rows durably
pays over the plain loop: it is printed against LangGraph alone, beside the target.

    python tests/perf/overhead.py [--instances 1000] [--rounds 5] [--processes 3] [--dir DIR]

How, and why. On the shared 2-core machine a phase's CPU time varies by up to 2x from one run to
the next, between processes and within one alike: other work takes the cores and caches (the
same fixed pure-Python loop, timed once a round and printed, shows how much). That cannot be
controlled, only filtered: `--processes` fresh processes run one after another, each
`--rounds` rounds; a round runs the four phases back to back, in an order rotated from round
to round, and the ratio is given from each phase's minimum over every round (the least
disturbed run of each, timeit's advice for noisy timing) and as the median of the rounds' own
ratios, with the spread of the rounds and of the processes' medians beside it.

What can be controlled is. The disk: the phases write files (the mock models' PNGs, the run
store), and on the machine's ext4 disk their kernel time varied most (the plain loop 0.45 to
0.62 ms an instance in the kernel, composer 0.72 to 0.94, against 0.12 and 0.16 to 0.18 on a
memory file system); so the suite and every run folder go to /dev/shm where it is writable
(`--dir /tmp` measures on the disk), and the kernel's share of each phase is printed. The
collector: the runner freezes what exists before its run and raises the young generation's
threshold (`composer.evaluation.execute`); the baselines used to run without either, their
collections walking every object the earlier phases left (0.13 s of LangGraph alone's 1.35 s
at 1,000 instances), which made the ratio look 0.3x lower than it is. Now every phase runs
after `gc.collect()` and `gc.freeze()` with the runner's threshold.
The hash seed is fixed (`PYTHONHASHSEED=0` in every process, `--hash-seed`): it does not change
the work (cProfile counts the same calls under seeds 0, 1 and 2) but fixes dicts' layout.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PIL import Image
from versions import (
    answer_prompt,
    checks_of,
    edit_prompt,
    has_store_floor,
    images_of,
    rewrite_prompt,
)

from composer.core.config import parse_config
from composer.core.images import ImageRef, ImageStore
from composer.core.outputs import IMAGE
from composer.evaluation.runner import Runner, instance_seed
from composer.specialists.base import TextReply
from composer.specialists.mock import MockSpecialist

if has_store_floor():
    from store_floor import Transaction, counts, floor_lines, record, write_floor
else:  # a composer before the store's schema module (`sitting.py`'s before side): no floor
    Transaction = list  # type: ignore[misc]

CONCURRENCY = 16


def write_suite(root: Path, n: int) -> None:
    ueg, geu = [], []
    for i in range(n // 2):
        ueg.append(
            {
                "index": i,
                "task_type": "mathematical_reasoning",
                "prompt": f"draw {i}+1 stars",
                "question_list": [
                    {"question": f"Are there {i + 1} stars?", "answer": "yes"},
                    {"question": "Is there a moon?", "answer": "no"},
                ],
            }
        )
        path = f"image/mental_tracking/t/images/{i}.png"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (i % 256, 0, 0)).save(root / path)
        geu.append(
            {
                "index": i,
                "task_type": "mental_tracking",
                "input_image": path,
                "question": f"q{i}?",
                "option": ["a", "b", "c", "d"],
                "answer": "ABCD"[i % 4],
                "evaluation_prompt": f"q{i}?",
            }
        )
    (root / "UEG_direct.json").write_text(json.dumps(ueg))
    (root / "GEU_direct.json").write_text(json.dumps(geu))


class Timed:
    """Wall and CPU seconds of one phase, with what may have disturbed it."""

    def __init__(self) -> None:
        self.wall = self.cpu = self.system = 0.0
        """`system`: the part of `cpu` spent in the kernel (file and database writes)."""
        self.switches = 0
        """Involuntary context switches: the times another process took the core."""
        self.collections = [0, 0, 0]
        """Garbage collections per generation."""
        self.calls = 0
        """Model calls sent (composer's phase)."""

    def __enter__(self) -> Timed:
        self._switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
        self._collections = [g["collections"] for g in gc.get_stats()]
        self._system = os.times().system
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self.system = os.times().system - self._system
        self.switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - self._switches
        self.collections = [
            g["collections"] - c for g, c in zip(gc.get_stats(), self._collections, strict=True)
        ]

    def as_dict(self) -> dict[str, Any]:
        """The figures, for the parent process."""
        return {
            "wall": self.wall,
            "cpu": self.cpu,
            "system": self.system,
            "switches": self.switches,
            "collections": self.collections,
        }


def _bare_model(runner: Runner, images: ImageStore) -> MockSpecialist:
    """The mock model alone, on its own store holding the suite's input images."""
    model = MockSpecialist.from_name("m", {"default": "A"}, images=images)
    for instance in runner.instances:
        for image in images_of(instance):
            images.put_png(runner.images.read_bytes(image))
    return model


def _every_role(system: Any, role: Any) -> dict[Any, Any]:
    """`system`'s graph contexts, per axis, with `role` bound to every role."""
    return {
        axis: type(context)(**{f.name: role for f in dataclasses.fields(context)})
        for axis, context in system.contexts.items()
    }


async def plain_loop(runner: Runner, images: ImageStore) -> Timed:
    """The same calls with bare MockSpecialists, no graph, no store."""
    model = _bare_model(runner, images)
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(instance) -> None:  # type: ignore[no-untyped-def]
        seed = instance_seed(0, instance.id)
        async with semaphore:
            if instance.axis.value == "UEG":
                rewrite = await model.understand(rewrite_prompt(instance))
                image = await model.generate(rewrite.text, seed=seed)
                for check in checks_of(instance):
                    await model.understand(check.question, [image])
            else:
                edited = await model.edit(edit_prompt(instance), images_of(instance), seed=seed)
                await model.understand(answer_prompt(instance), [edited])

    with Timed() as timed:
        await asyncio.gather(*(one(i) for i in runner.instances))
    return timed


class _Instant:
    """A role that answers at once, without the call layer: what is left is LangGraph's cost."""

    def __init__(self, image: ImageRef) -> None:
        self.image = image

    async def understand(self, prompt, images=(), *, options=None):  # type: ignore[no-untyped-def]
        return TextReply(text="A")

    async def generate(self, prompt, *, seed, options=None):  # type: ignore[no-untyped-def]
        return self.image

    async def edit(self, prompt, images, *, seed, options=None):  # type: ignore[no-untyped-def]
        return self.image


async def graphs_alone(runner: Runner) -> Timed:
    """The same graph invocations with instant roles: no call layer, no store, no judge."""
    image = next(images_of(i)[0] for i in runner.instances if images_of(i))
    assert image is not None
    instant = _Instant(image)
    system = runner.systems[0]
    contexts = _every_role(system, instant)
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(instance) -> None:  # type: ignore[no-untyped-def]
        inputs = {"instance": instance, "seed": instance_seed(0, instance.id)}
        async with semaphore:
            await system.strategies[instance.axis].graph.ainvoke(
                inputs, context=contexts[instance.axis]
            )

    with Timed() as timed:
        await asyncio.gather(*(one(i) for i in runner.instances))
    return timed


async def graphs_with_models(runner: Runner, images: ImageStore) -> Timed:
    """The same graphs with the plain loop's bare mock model as every role, then the same judge
    questions: LangGraph doing the model work, without composer's call layer, store or judge.

    Not in the ratio: it shows how much of composer's overhead over the plain loop comes only
    from running the models between LangGraph's steps (the same calls cost more there).
    """
    model = _bare_model(runner, images)
    system = runner.systems[0]
    contexts = _every_role(system, model)
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(instance) -> None:  # type: ignore[no-untyped-def]
        inputs = {"instance": instance, "seed": instance_seed(0, instance.id)}
        async with semaphore:
            state = await system.strategies[instance.axis].graph.ainvoke(
                inputs, context=contexts[instance.axis]
            )
            if instance.axis.value == "UEG":
                for check in checks_of(instance):
                    await model.understand(check.question, [state[IMAGE]])

    with Timed() as timed:
        await asyncio.gather(*(one(i) for i in runner.instances))
    return timed


async def store_floor(path: Path, transactions: list[Transaction]) -> Timed:
    """The rows composer's store wrote, in its transactions, with sqlite3 alone."""
    with Timed() as timed:
        write_floor(path, transactions)
    return timed


PHASES = ("plain", "graphs", "composer")
MEASURED = (*PHASES, "models", "floor") if has_store_floor() else (*PHASES, "models")
"""Every phase a round runs: the ratio's three, LangGraph with the models, the store's floor
(where this composer has its schema module to record the rows with)."""


def make_config(root: Path) -> Any:
    """The run file: one system (the two graphs, one mock model) and a mock judge."""
    return parse_config(
        {
            "concurrency": CONCURRENCY,
            "benchmark": {"path": str(root / "data")},
            "judge": {"model": "mock/judge"},
            "systems": {
                "step": {
                    "ueg": "decompose-then-generate",
                    "geu": "generate-then-reason",
                    "roles": {"model": "mock/m"},
                }
            },
            "models": {
                "mock/m": {"default": "A", "max_concurrency": CONCURRENCY},
                "mock/judge": {"default": "yes", "max_concurrency": CONCURRENCY},
            },
        },
        source="overhead",
        base_dir=root,
    )


async def composer_run(runner: Runner) -> Timed:
    """The runner on a fresh run folder: models, call layer, store, judge."""
    with Timed() as timed:
        summary = await runner.run()
    assert summary.tasks == len(runner.instances), summary
    # Every task must succeed: a phase (or an overhead_parts.py variant) whose tasks all fail
    # early costs little and would read as a saving. Older composers have no `failed`.
    assert getattr(summary, "failed", 0) == 0, summary
    timed.calls = summary.calls_sent
    return timed


GC_THRESHOLD = 10_000
"""The young generation's collection threshold in every phase. The runner sets it for its run
(`composer.evaluation.execute`); the baselines get it too, so that no phase differs from
another in collector policy, only in work."""


def phase(run: Callable[[], Coroutine[Any, Any, Timed]]) -> Timed:
    """One phase in its own event loop, after the garbage of the last phase is collected.

    Frozen, the objects that exist before the phase (modules, instances, earlier phases'
    leftovers) are not walked by the collections inside it, so no phase pays for another's.
    """
    gc.collect()
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        return asyncio.run(run())
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _callgrind(state: str) -> None:
    """Turn callgrind's counting on or off in this process (which runs under valgrind)."""
    command = ["callgrind_control", f"--instr={state}", str(os.getpid())]
    subprocess.run(command, check=True, capture_output=True)


async def counted(work: Coroutine[Any, Any, Timed]) -> Timed:
    """`work`, its instructions counted (only its own: the phase's setup is left out)."""
    _callgrind("on")
    try:
        return await work
    finally:
        _callgrind("off")


COUNTED = ("nothing", *PHASES, "models")
"""The phases `--count-phase` runs: the ratio's three, LangGraph + models, and "nothing" (an
empty phase: what turning the counting on and off costs, subtracted from the others)."""


def count_phase(root: Path, name: str) -> None:
    """One phase on the suite at `root`, in this process (run under callgrind with
    `--instr-atstart=no`): once uncounted, to warm it, then once counted."""
    for count in (False, True):
        run_dir = Path(tempfile.mkdtemp(dir=root))
        runner = Runner(make_config(root), run_dir / "run")
        work = phase_work(name, runner, run_dir)
        phase(lambda: counted(work) if count else work)  # noqa: B023 - called at once
        runner.close()


def phase_work(name: str, runner: Runner, run_dir: Path) -> Coroutine[Any, Any, Timed]:
    """The phase `name` on `runner`'s instances (`nothing`: an empty phase)."""
    if name == "plain":
        return plain_loop(runner, ImageStore(run_dir / "plain-images"))
    if name == "graphs":
        return graphs_alone(runner)
    if name == "composer":
        return composer_run(runner)
    if name == "models":
        return graphs_with_models(runner, ImageStore(run_dir / "graph-images"))
    return asyncio.sleep(0, Timed())


async def fixed_work() -> Timed:
    """The same pure-Python work every time: how much the machine itself slows a phase now."""
    with Timed() as timed:
        table: dict[str, list[int]] = {}
        for i in range(200_000):
            table[str(i)] = [i, i * 2]
    return timed


def measure_round(root: Path, turn: int, transactions: list[Transaction]) -> dict[str, Any]:
    """One round: the phases back to back, in an order rotated by `turn`."""
    run_dir = Path(tempfile.mkdtemp(dir=root))
    runner = Runner(make_config(root), run_dir / "run")
    runs: dict[str, Callable[[], Coroutine[Any, Any, Timed]]] = {
        name: functools.partial(phase_work, name, runner, run_dir) for name in (*PHASES, "models")
    }
    if "floor" in MEASURED:
        runs["floor"] = lambda: store_floor(run_dir / "floor.db", transactions)
    turn %= len(MEASURED)
    order = MEASURED[turn:] + MEASURED[:turn]
    timed = {name: phase(runs[name]) for name in order}
    timed["fixed"] = phase(fixed_work)
    runner.close()
    return {
        "order": list(order),
        "calls": timed["composer"].calls,
        **({"floor_rows": counts(transactions)} if "floor" in MEASURED else {}),
        **{name: t.as_dict() for name, t in timed.items()},
    }


def child(root: Path, rounds: int, first_turn: int) -> None:
    """Run `rounds` rounds in this process; print each as one JSON line.

    First, untimed, one composer run records the rows its store writes: the floor's work.
    """
    recording = Path(tempfile.mkdtemp(dir=root)) / "run"
    transactions = record(Runner(make_config(root), recording)) if "floor" in MEASURED else []
    for i in range(rounds):
        print(json.dumps(measure_round(root, first_turn + i, transactions)), flush=True)


def ratio(plain: float, graphs: float, composer: float) -> float:
    """composer's overhead over the plain loop, against LangGraph alone."""
    return (composer - plain) / graphs


def spawn(root: Path, args: argparse.Namespace, process: int) -> list[dict[str, Any]]:
    """One fresh process's rounds."""
    env = dict(os.environ)
    if args.hash_seed != "random":
        env["PYTHONHASHSEED"] = args.hash_seed
    command = [sys.executable, __file__, "--child", str(root), "--rounds", str(args.rounds)]
    command += ["--turn", str(process)]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    rounds = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    for r in rounds:
        r["process"] = process
    return rounds


def report(rounds: list[dict[str, Any]], n: int, clock: str) -> list[str]:
    """The lines for one clock: each phase's spread, then the ratio two ways."""
    per = {name: sorted(r[name][clock] / n * 1000 for r in rounds) for name in PHASES}
    kernel = clock == "cpu"
    lines = [f"{clock} ms per instance    min  median   max" + ("  (kernel)" if kernel else "")]
    for name in ("models", "floor"):
        if name not in rounds[0]:
            continue
        per[name] = sorted(r[name][clock] / n * 1000 for r in rounds)
    names = {
        "plain": "plain asyncio loop",
        "graphs": "LangGraph alone",
        "composer": "composer",
        "models": "LangGraph + models",
        "floor": "store floor",
    }
    for name in MEASURED:
        if name not in per:
            continue
        values = per[name]
        system = statistics.median(r[name].get("system", 0.0) / n * 1000 for r in rounds)
        lines.append(
            f"  {names[name]:<19} {values[0]:5.2f}  {statistics.median(values):5.2f} "
            f" {values[-1]:5.2f}" + (f"  ({system:.2f})" if kernel else "")
        )
    low = {name: per[name][0] for name in PHASES}
    overhead = low["composer"] - low["plain"]
    each = [ratio(*(r[name][clock] for name in PHASES)) for r in rounds]
    processes = sorted({r["process"] for r in rounds})
    medians = [
        statistics.median(x for x, r in zip(each, rounds, strict=True) if r["process"] == p)
        for p in processes
    ]
    fixed = sorted(r["fixed"][clock] * 1000 for r in rounds)
    lines += [
        f"  the same fixed work each round (the machine's noise): {fixed[0]:.0f} to "
        f"{fixed[-1]:.0f} ms, median {statistics.median(fixed):.0f}",
        f"  overhead (composer - plain, minimums): {overhead:.2f} ms/instance",
        f"  overhead / LangGraph alone, from the minimums: {overhead / low['graphs']:.2f}x "
        "(target <= 1.25x)",
        f"  overhead / LangGraph alone, median of the rounds: {statistics.median(each):.2f}x "
        f"(rounds {min(each):.2f} to {max(each):.2f}; process medians "
        f"{', '.join(f'{m:.2f}' for m in medians)})",
    ]
    # LangGraph + models - plain - LangGraph alone: what the same model calls cost more when
    # they run between LangGraph's steps. Composer pays it too (it runs the same graphs), and
    # the ratio above counts it as composer's overhead.
    slowed = [r["models"][clock] - r["plain"][clock] - r["graphs"][clock] for r in rounds]
    beyond = [1 + (r["composer"][clock] - r["models"][clock]) / r["graphs"][clock] for r in rounds]
    lines += [
        f"  the models' calls slowed between LangGraph's steps (LangGraph + models - plain - "
        f"LangGraph alone, median): {statistics.median(slowed) / n * 1000:.2f} ms/instance",
        f"  1 + (composer - LangGraph + models) / LangGraph alone, median of the rounds: "
        f"{statistics.median(beyond):.2f}x (rounds {min(beyond):.2f} to {max(beyond):.2f})",
    ]
    return lines + (floor_lines(rounds, per, clock) if "floor" in per else [])


def memory_folder() -> Path | None:
    """/dev/shm where it is a writable folder (a memory file system), else None (the default)."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds in each process")
    parser.add_argument("--processes", type=int, default=3, help="fresh processes, one by one")
    parser.add_argument(
        "--hash-seed",
        default="0",
        help='PYTHONHASHSEED of every process ("random": unset)',
    )
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    parser.add_argument(
        "--dir",
        type=Path,
        default=memory_folder(),
        help="where the suite and the run folders go (default: /dev/shm where writable)",
    )
    parser.add_argument(
        "--count-phase",
        choices=COUNTED,
        help="run this one phase twice, the second time counted by callgrind: run it under "
        "valgrind --tool=callgrind --instr-atstart=no (tests/perf/sitting.py --only "
        "instructions does)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--turn", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.rounds, args.turn)
        return
    n = args.instances
    if args.count_phase is not None:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            write_suite(Path(tmp) / "data", n)
            count_phase(Path(tmp), args.count_phase)
        return
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        write_suite(root / "data", n)
        rounds = [r for p in range(args.processes) for r in spawn(root, args, p)]
    if args.json is not None:
        args.json.write_text(json.dumps(rounds, indent=1))
    print(
        f"instances: {n}, calls per instance: {rounds[0]['calls'] / n:.1f}; "
        f"{args.processes} processes x {args.rounds} rounds, the phases interleaved "
        f"(PYTHONHASHSEED={args.hash_seed}; files in {args.dir or tempfile.gettempdir()})"
    )
    for clock in ("cpu", "wall"):
        print("\n".join(report(rounds, n, clock)))


if __name__ == "__main__":
    main()
