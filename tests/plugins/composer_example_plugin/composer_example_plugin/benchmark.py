"""synthetic-mini: two UEG categories of composer's synthetic suite, written into the run folder."""

from pathlib import Path

from composer.benchmarks.realunify import load_folder
from composer.core.config import RunConfig
from composer.core.images import ImageStore
from composer.core.instance import Instance
from composer.synthetic.suite import write_suite

CATEGORIES = ("world_knowledge", "commonsense_reasoning")


def load(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """World knowledge and commonsense from the synthetic suite, n_per_category of each."""
    bench = config.benchmark
    folder = run_dir / "synthetic-mini"
    # Deterministic: the same settings write the same files, so a resumed run finds the
    # instances it stored.
    write_suite(folder, n_per_category=bench.n_per_category, seed=bench.seed, categories=CATEGORIES)
    return load_folder(folder, images, limit=bench.limit)
