"""Orchestration overhead per instance: composer's runner against a plain asyncio loop.

Both make the same mock calls on the same 1,000 instances (500 UEG through
decompose-then-generate plus a two-question judge, 500 GEU through generate-then-reason), with
the same concurrency. The difference is what composer adds: graph execution, call-layer cache
lookups and writes, result writes, bookkeeping. Target: under 3 ms per instance on 2 cores.

    python tests/perf/overhead.py [--instances 1000]

Each phase is timed in wall seconds and in CPU seconds of this process (threads included): on
a loaded machine the CPU ratio is the one that holds.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from composer.core.config import parse_config
from composer.core.images import ImageRef, ImageStore
from composer.evaluation.runner import Runner, instance_seed
from composer.specialists.base import TextReply
from composer.specialists.mock import MockSpecialist

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
    """Wall and CPU seconds of one phase."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Timed:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


async def plain_loop(runner: Runner, images: ImageStore) -> Timed:
    """The same calls with bare MockSpecialists, no graph, no store."""
    model = MockSpecialist.from_name("m", {"default": "A"}, images=images)
    for instance in runner.instances:
        for image in instance.images:
            images.put_png(runner.images.read_bytes(image))
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(instance) -> None:  # type: ignore[no-untyped-def]
        seed = instance_seed(0, instance.id)
        async with semaphore:
            if instance.axis.value == "UEG":
                rewrite = await model.understand(instance.request("step") or instance.text)
                image = await model.generate(rewrite.text, seed=seed)
                for check in instance.references.checks:
                    await model.understand(check.question, [image])
            else:
                edited = await model.edit(
                    instance.request("edit") or "", list(instance.images), seed=seed
                )
                await model.understand(instance.text, [edited])

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
    image = next(i.images[0] for i in runner.instances if i.images)
    assert image is not None
    instant = _Instant(image)
    system = runner.systems[0]
    contexts = {
        axis: type(context)(**{f.name: instant for f in dataclasses.fields(context)})
        for axis, context in system.contexts.items()
    }
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


@dataclasses.dataclass
class Round:
    """One round's phases: the plain loop, composer, and the graphs alone."""

    plain: Timed
    composer: Timed
    graphs: Timed
    calls: int

    def ratio(self, clock: str) -> float:
        """composer's overhead over the plain loop, against LangGraph alone, on `clock`."""
        plain, composer, graphs = (
            getattr(t, clock) for t in (self.plain, self.composer, self.graphs)
        )
        return (composer - plain) / graphs


def measure_once(root: Path, n: int) -> Round:
    """One round: the plain loop, then composer, each on fresh folders, then the graphs."""
    config = parse_config(
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
    run_dir = Path(tempfile.mkdtemp(dir=root))
    runner = Runner(config, run_dir / "run")
    plain = asyncio.run(plain_loop(runner, ImageStore(run_dir / "plain-images")))
    with Timed() as composer:
        summary = asyncio.run(runner.run())
    graphs = asyncio.run(graphs_alone(runner))
    runner.close()
    assert summary.tasks == n == len(runner.instances), summary
    return Round(plain, composer, graphs, summary.calls_sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="median of this many rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_suite(root / "data", args.instances)
        rounds = [measure_once(root, args.instances) for _ in range(args.rounds)]
    n = args.instances
    print(f"instances: {n}, calls per instance: {rounds[0].calls / n:.1f}, rounds: {args.rounds}")
    for clock in ("wall", "cpu"):
        plain = statistics.median(getattr(r.plain, clock) for r in rounds)
        composer = statistics.median(getattr(r.composer, clock) for r in rounds)
        graphs = statistics.median(getattr(r.graphs, clock) for r in rounds)
        overheads = sorted(
            (getattr(r.composer, clock) - getattr(r.plain, clock)) / n * 1000 for r in rounds
        )
        ratios = sorted(r.ratio(clock) for r in rounds)
        print(f"{clock} time (median of the rounds):")
        print(f"  plain asyncio loop: {plain:.2f} s ({plain / n * 1000:.2f} ms/instance)")
        print(f"  composer runner:    {composer:.2f} s ({composer / n * 1000:.2f} ms/instance)")
        print(f"  ratio composer/plain: {composer / plain:.2f}")
        print(
            f"  orchestration overhead: {statistics.median(overheads):.2f} ms/instance (rounds: "
            f"{', '.join(f'{o:.2f}' for o in overheads)}; target < 3 ms)"
        )
        print(
            f"  of which LangGraph itself (the same graphs, instant roles): "
            f"{graphs / n * 1000:.2f} ms/instance"
        )
        print(
            f"  overhead / LangGraph alone: {statistics.median(ratios):.2f}x (median of "
            f"{', '.join(f'{x:.2f}' for x in ratios)}; target <= 1.25x)"
        )


if __name__ == "__main__":
    main()
