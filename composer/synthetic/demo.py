"""The embedded default: the run `composer demo` makes, offline, with symbolic specialists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from composer.core.config import RunConfig, parse_config
from composer.core.fork import start_forked

JUDGE = "symbolic/reasoner"
SECOND_JUDGE = "symbolic/glance-judge"
"""Reads the same pixels at a third of the size: the report shows how far the judges agree."""


def demo_systems() -> dict[str, Any]:
    """The demo's systems: a naive unified model direct and stepwise, the oracle, and more."""
    naive = {"model": "symbolic/naive-unified"}
    oracle = {
        "reasoner": "symbolic/reasoner",
        "generator": "symbolic/painter",
        "editor": "symbolic/painter",
    }
    return {
        "naive-direct": {"ueg": "direct", "geu": "direct", "roles": naive},
        "naive-stepwise": {
            "ueg": "decompose-then-generate",
            "geu": "generate-then-reason",
            "roles": naive,
        },
        "oracle": {
            "ueg": "decompose-then-generate",
            "geu": "generate-then-reason",
            "roles": oracle,
        },
        "oracle-refine": {
            "ueg": {"graph": "refine", "max_rounds": 3},
            "roles": {"reasoner": "symbolic/reasoner", "generator": "symbolic/painter"},
        },
        "painter-alone": {"ueg": "direct", "roles": {"model": "symbolic/painter"}},
        "reasoner-alone": {"geu": "direct", "roles": {"model": "symbolic/reasoner"}},
    }


def demo_config(
    *, n_per_category: int = 10, seed: int = 0, seeds: tuple[int, ...] | None = None
) -> RunConfig:
    """The demo run: the synthetic suite generated into the run folder, judged symbolically.

    `seeds` runs every task once per run seed (the suite is generated from `seed`).
    """
    data: dict[str, Any] = {
        "concurrency": 8,
        "benchmark": {"name": "synthetic", "n_per_category": n_per_category, "seed": seed},
        "judge": {"model": JUDGE, "parser": "official", "extra": [SECOND_JUDGE]},
        "systems": demo_systems(),
    }
    if seeds is None:
        data["seed"] = seed
    else:
        data["seeds"] = list(seeds)
    return parse_config(data, source="composer demo", base_dir=Path.cwd())


UNIMMMU_FOLDER = "uni-mmmu"
"""Where, inside the demo's run folder, its Uni-MMMU-style run goes (a run of its own)."""


def unimmmu_demo_systems() -> dict[str, Any]:
    """One unified model making every call, the same loop composed, and text only."""
    composed = {
        "reasoner": "symbolic/reasoner",
        "editor": "symbolic/painter",
        "generator": "symbolic/painter",
    }
    return {
        "naive-interleaved": {"geu": "interleaved", "roles": {"model": "symbolic/naive-unified"}},
        "composed-interleaved": {"geu": "interleaved", "roles": composed},
        "reasoner-text-only": {"geu": "text-only", "roles": {"reasoner": "symbolic/reasoner"}},
    }


def unimmmu_demo_config(*, n_per_task: int = 4, seed: int = 0) -> RunConfig:
    """The demo's second run: a synthetic Uni-MMMU-style suite (maze, sliding, jigsaw).

    The release's programmatic scorers score it, from the frames' pixels and the move lists.
    """
    data: dict[str, Any] = {
        "seed": seed,
        "concurrency": 8,
        "benchmark": {"name": "uni-mmmu-synthetic", "n_per_category": n_per_task, "seed": seed},
        "judge": {"model": JUDGE, "parser": "official"},
        "systems": unimmmu_demo_systems(),
    }
    return parse_config(data, source="composer demo (Uni-MMMU)", base_dir=Path.cwd())


def write_suite_ahead(config: RunConfig, run_dir: Path) -> Callable[[], None]:
    """Start writing the run's suite into a new `run_dir` in a child process; return the wait.

    The demo's first seconds hold two independent jobs: drawing and encoding the suite's
    images, and importing what the run needs (LangGraph, the graphs, the runner). On two cores
    they overlap: the child writes the suite into `run_dir` as the benchmark's loader writes it
    (`loaders.synthetic_suite`, reading no image back), so the run's loader finds the suite
    written (its manifest) and only reads it. The suite's writer is imported before the fork, so its
    imports (numpy, Pillow, which the symbolic models use too) are paid once.

    Nothing is started for a folder that already holds something (a run to resume, or one the
    run may refuse, keeps what it holds), where `fork` is not how processes start, or beside
    other threads (a forked child could inherit a lock one of them holds); the run then
    writes the suite itself, as it does whenever the child did not (a failure surfaces there,
    from the same loader).
    """
    if run_dir.exists() and any(run_dir.iterdir()):
        return lambda: None
    import composer.synthetic.suite  # noqa: F401  (numpy, Pillow: imported once, for both)

    child = start_forked(_write_suite, (config, run_dir), "composer-demo-suite")
    return lambda: None if child is None else child.join()


def _write_suite(config: RunConfig, run_dir: Path) -> None:
    """In the child: the run's suite written into `run_dir`, by the loader's own writer.

    A failure ends the child quietly (no traceback beside the parent's output): the run
    writes the suite itself then, and says what stops it there, in one line.
    """
    from composer.benchmarks.loaders import synthetic_suite

    try:
        synthetic_suite(config, run_dir)
    except Exception:  # noqa: BLE001 - the parent meets the same failure and reports it
        raise SystemExit(1) from None
