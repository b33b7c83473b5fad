"""The benchmark registry: `[benchmark] name` to a loader of `Instance`s."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from composer.core.config import BenchmarkConfig, RunConfig
from composer.core.errors import ConfigError, UnknownNameError
from composer.core.images import ImageStore
from composer.core.instance import Instance

Loader = Callable[[RunConfig, ImageStore, Path], list[Instance]]


def _realunify(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    from composer.benchmarks.realunify import load_folder

    bench = config.benchmark
    if bench.path is None:
        raise ConfigError(
            "[benchmark] path",
            "is not set; RealUnify is not redistributed with composer.",
            "Download the DogNeverSleep/RealUnify dataset (huggingface-cli download "
            "DogNeverSleep/RealUnify --repo-type dataset --local-dir data/realunify) "
            'and set path = "data/realunify".',
        )
    return load_folder(
        config.resolve(bench.path), images, categories=bench.categories, limit=bench.limit
    )


def _synthetic(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    from composer.benchmarks.realunify import load_folder
    from composer.benchmarks.synthetic import write_suite

    bench: BenchmarkConfig = config.benchmark
    if bench.path is not None:
        folder = config.resolve(bench.path)
    else:
        folder = run_dir / "suite"
        settings = {
            "n_per_category": bench.n_per_category,
            "seed": bench.seed,
            "difficulty": bench.difficulty,
        }
        manifest = folder / "suite.json"
        if not manifest.exists() or json.loads(manifest.read_text()) != settings:
            # Deterministic: the same settings always write the same suite.
            write_suite(folder, **settings)  # type: ignore[arg-type]
            manifest.write_text(json.dumps(settings))
    return load_folder(folder, images, categories=bench.categories, limit=bench.limit)


BENCHMARKS: dict[str, tuple[Loader, str]] = {
    "realunify": (_realunify, "RealUnify's four JSON files and images, from a local folder"),
    "synthetic": (
        _synthetic,
        "the built-in offline suite (generated into the run folder, or a `composer synth` folder)",
    ),
}


def load_benchmark(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """Load the instances `[benchmark]` names."""
    name = config.benchmark.name
    if name not in BENCHMARKS:
        raise UnknownNameError(
            f"[benchmark] name {name!r}",
            "is not a known benchmark.",
            f"Known: {', '.join(BENCHMARKS)}.",
        )
    return BENCHMARKS[name][0](config, images, run_dir)
