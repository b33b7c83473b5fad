"""Memory of the report's score channels: 60 against 10 instances per category, one process.

Builds two run stores through RunStore's own writes (two systems, six Uni-MMMU-style tasks,
each output with a binary, a fraction, a 0-5 rubric and a distance channel, three run seeds),
then measures with tracemalloc the peak of the channels section's paired tests
(`channels.paired_rows`: every bootstrap) at both sizes. The baseline, in the same run, is the
same bootstrap unchunked (`channel_stats.replicates` with one chunk): its memory grows with the
number of instances, the chunked one's does not. The whole section (store read included, which
holds every output's channels and so grows with the run) is printed for scale.

    python tests/perf/channels_scale.py [--small 10] [--large 60] [--seeds 3]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from composer.core.definition import AxisDefinition, SystemDefinition
from composer.evaluation.store import Result, RunStore, Scored
from composer.evaluation.store_writer import RunWriter
from composer.report import channel_stats, channels
from composer.report.summary import summarize

TASKS = ("jigsaw", "maze", "sliding", "geometry", "science", "code")
SCORER = "uni-mmmu-programmatic-perf"


def build(run_dir: Path, per_task: int, seeds: int) -> RunStore:
    """A store of two systems' outputs with four channels each."""
    axis = {"GEU": AxisDefinition(graph="interleaved", roles={"model": "m/u"}, code="builtin")}
    composed = {
        "GEU": AxisDefinition(graph="interleaved", roles={"reasoner": "m/r"}, code="builtin")
    }
    store = RunWriter(run_dir)
    store.begin_run(
        config={"judge": {"parser": "official"}, "seeds": list(range(seeds))},
        versions={},
        seed=0,
        systems={
            "composed": (SystemDefinition(kind="composed", mode="stepwise", axes=composed), {}),
            "unified": (SystemDefinition(kind="unified", mode="stepwise", axes=axis), {}),
        },
        judges=[(SCORER, "programmatic", {"model": None})],
        instances=[],
    )
    rng = random.Random(0)
    for system, skill in (("composed", 0.7), ("unified", 0.4)):
        for task in TASKS:
            for k in range(per_task):
                for seed in range(seeds):
                    right = float(rng.random() < skill)
                    values = {
                        "exact": ("binary", right),
                        "frame_acc": ("fraction", rng.random() * skill),
                        "rubric": ("rubric_0_5", float(rng.randint(0, 5))),
                        "distance": ("distance", rng.random()),
                    }
                    stored = {
                        n: {"kind": c, "official": v, "strict": v} for n, (c, v) in values.items()
                    }
                    result = Result(
                        system=system,
                        instance=f"{task}-{k}",
                        seed=seed,
                        axis="GEU",
                        category=task,
                        status="ok",
                    )
                    score = Scored(
                        judge=SCORER,
                        status="ok",
                        correct_official=bool(right),
                        correct_strict=bool(right),
                        channels=stored,
                    )
                    store.put_result(result, [(score, [])])
    store.close()
    return RunStore(run_dir)


def peak(work: Callable[[], Any]) -> tuple[float, float]:
    """(peak MB above the start, seconds) of `work()`."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    t0 = time.perf_counter()
    work()
    seconds = time.perf_counter() - t0
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (top - start) / 1e6, seconds


def measure(root: Path, per_task: int, seeds: int) -> dict[str, tuple[float, float]]:
    """Peaks of the paired tests, the unchunked baseline and the whole section."""
    store = build(root / f"run-{per_task}", per_task, seeds)
    report = summarize(store)
    results = list(store.results(parser="official"))
    data = channels.collect(results, channels.pick(store.channels(), [SCORER], [SCORER]))
    n = len(TASKS) * per_task
    grid = np.random.default_rng(0).random((n, seeds)) - 0.4
    out = {
        "paired tests (chunked)": peak(
            lambda: channels.paired_rows(data, report, reading="official")
        ),
        "one bootstrap, chunked": peak(lambda: channel_stats.replicates(grid)),
        "one bootstrap, unchunked (baseline)": peak(
            lambda: channel_stats.replicates(grid, chunk=10**12)
        ),
        "whole section (store read included)": peak(
            lambda: channels.section(store, report, results)
        ),
    }
    store.close()
    return out


def main() -> None:
    """Print each measure at both sizes and the large / small ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="channels-scale-") as tmp:
        small = measure(Path(tmp), args.small, args.seeds)
        large = measure(Path(tmp), args.large, args.seeds)
    print(
        f"{len(TASKS)} tasks, 2 systems, {args.seeds} seeds; peak MB (s) at "
        f"{args.small} and {args.large} per task, ratio {args.large} / {args.small}:"
    )
    for name, (mb_small, s_small) in small.items():
        mb_large, s_large = large[name]
        print(
            f"  {name:38s} {mb_small:7.2f} MB ({s_small:.2f} s)  {mb_large:7.2f} MB "
            f"({s_large:.2f} s)  ratio {mb_large / mb_small:.2f}"
        )


if __name__ == "__main__":
    main()
