"""Time of the synthetic Uni-MMMU-style suite: writing it, solving it, scoring it.

Writes `--per-task` mazes, sliding puzzles and jigsaws, replays every item through the sample
scripts' calls with the symbolic solver (reasoner + painter) and with the naive unified model,
and scores all of it with the benchmark's programmatic scorers. Prints wall and CPU seconds
per stage (CPU time is what the stage costs on a machine shared with other work).

    python tests/perf/unimmmu_suite.py [--per-task 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "synthetic"))

from test_unimmmu import TASKS, replay, score, skills  # noqa: E402

from composer.benchmarks.unimmmu.files import load_folder  # noqa: E402
from composer.synthetic.suite.unimmmu import write_unimmmu_suite  # noqa: E402


def timed(label: str, work: Callable[[], Any]) -> Any:
    """Run `work`, print its wall and CPU seconds, return its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    print(
        f"{label:<28} wall {time.perf_counter() - wall:6.2f} s   "
        f"cpu {time.process_time() - cpu:6.2f} s"
    )
    return result


def main() -> None:
    """Print the stages' times."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-task", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = timed(
            "write the folder",
            lambda: write_unimmmu_suite(Path(tmp), per_task=args.per_task, seed=args.seed),
        )
        items = timed("load it", lambda: load_folder(data, tasks=TASKS))
        for naive in (False, True):
            run(items, naive)


def run(items: dict[Any, list[Any]], naive: bool) -> None:
    """Replay and score every item with one system; print the times and the mean channels."""
    text, draw = skills(naive)
    name = "naive unified" if naive else "solver"
    outputs = timed(
        f"replay: {name}",
        lambda: {t: [replay(i, text, draw) for i in its] for t, its in items.items()},
    )
    scores = timed(
        f"score: {name}",
        lambda: {
            t: [score(i, o) for i, o in zip(its, outputs[t], strict=True)]
            for t, its in items.items()
        },
    )
    for task, rows in scores.items():
        means = {k: round(sum(r[k] for r in rows) / len(rows), 2) for k in rows[0]}
        print(f"  {task}: {means}")


if __name__ == "__main__":
    main()
