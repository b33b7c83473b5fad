"""The benchmark registry: `[benchmark] name` to a loader of `Instance`s."""

from __future__ import annotations

import fnmatch
import importlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from composer.core.config import BenchmarkConfig, RunConfig
from composer.core.errors import (
    ComposerError,
    ConfigError,
    DataError,
    PrerequisiteError,
    shown_argument,
)
from composer.core.failure import Failure
from composer.core.images import ImageStore
from composer.core.instance import Instance
from composer.core.registry import Registry

Loader = Callable[[RunConfig, ImageStore, Path], list[Instance]]


def _realunify(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """RealUnify's four JSON files and images, from a local folder."""
    from composer.benchmarks.realunify import load_folder

    bench = config.benchmark
    folder = config.resolve(bench.path) if bench.path is not None else download_realunify()
    return load_folder(folder, images, categories=bench.categories, limit=bench.limit)


REALUNIFY_REPO = "DogNeverSleep/RealUnify"
_DOWNLOAD_HELP = (
    "Download it once with: huggingface-cli download DogNeverSleep/RealUnify "
    "--repo-type dataset --local-dir data/realunify, then set [benchmark] path = "
    '"data/realunify". (Its licence allows academic research only and forbids '
    "redistribution; composer never copies it.)"
)


def download_realunify() -> Path:
    """The RealUnify folder from the Hugging Face cache, fetched through huggingface_hub.

    Raises:
        PrerequisiteError: offline (or the hub unreachable) and not cached, with how to fix.
    """
    from huggingface_hub import snapshot_download

    try:
        snapshot = Path(
            snapshot_download(REALUNIFY_REPO, repo_type="dataset", local_files_only=True)
        )
    except Exception:  # noqa: BLE001 - not cached (the hub library raises several kinds)
        try:
            snapshot = Path(snapshot_download(REALUNIFY_REPO, repo_type="dataset"))
        except Exception as exc:  # noqa: BLE001 - offline, unreachable, gated: one message
            raise PrerequisiteError(
                "[benchmark] realunify",
                "is not in the Hugging Face cache and could not be downloaded "
                f"({type(exc).__name__}).",
                _DOWNLOAD_HELP,
            ) from None
    found = sorted(p.parent for p in snapshot.rglob("UEG_direct.json")) or sorted(
        p.parent for p in snapshot.rglob("GEU_direct.json")
    )
    if not found:
        raise PrerequisiteError(
            "[benchmark] realunify",
            f"the cached dataset at {snapshot} holds no UEG_direct.json.",
            _DOWNLOAD_HELP,
        )
    return found[0]


def _jsonl(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """One instance per line, the Instance fields (see composer/benchmarks/jsonl.py)."""
    from composer.benchmarks.jsonl import load_jsonl

    bench = config.benchmark
    if bench.path is None:
        raise ConfigError(
            "[benchmark] path", "is not set.", "Point it at a .jsonl file of instances."
        )
    return load_jsonl(
        config.resolve(bench.path), images, categories=bench.categories, limit=bench.limit
    )


SUITE_WRITER = "composer.synthetic.suite:write_suite"
"""The synthetic suite's writer, named rather than imported: the suite lives in
`composer/synthetic/`, beside the layers, as the registry names the symbolic models."""


def _synthetic(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """The built-in offline suite (generated into the run folder, or a `composer synth` folder)."""
    from composer.benchmarks.realunify import load_folder

    bench: BenchmarkConfig = config.benchmark
    folder = synthetic_suite(config, run_dir)
    return load_folder(folder, images, categories=bench.categories, limit=bench.limit)


def synthetic_suite(config: RunConfig, run_dir: Path) -> Path:
    """The folder of the synthetic suite `config` runs on, written into `run_dir` if need be.

    Writes the suite only (no image is read): `composer demo` calls it ahead of the run.

    Raises:
        ConfigError: the run folder holds a suite written with other settings.
    """
    bench: BenchmarkConfig = config.benchmark
    if bench.path is not None:
        return config.resolve(bench.path)
    settings = {
        "n_per_category": bench.n_per_category,
        "seed": bench.seed,
        "difficulty": bench.difficulty,
    }
    return _generated(run_dir / "suite", SUITE_WRITER, settings, "a synthetic suite")


def _generated(folder: Path, writer: str, settings: dict[str, Any], what: str) -> Path:
    """`folder`, where `writer` (`module:function`) wrote a suite with `settings`, once.

    Raises:
        ConfigError: the folder holds a suite written with other settings (regenerating it
            would change the instances the stored results were computed on, and a rejected
            run must write nothing).
    """
    manifest = folder / "suite.json"
    if manifest.exists() and json.loads(manifest.read_text()) != settings:
        raise ConfigError(
            "[benchmark]",
            f"asks for {what} ({json.dumps(settings)}) other than the one this run folder "
            f"holds ({manifest.read_text().strip()}).",
            "Run into a new --out folder, or keep the suite's settings.",
        )
    if not manifest.exists():
        # Deterministic: the same settings always write the same suite.
        module, _, attribute = writer.partition(":")
        getattr(importlib.import_module(module), attribute)(folder, **settings)
        manifest.write_text(json.dumps(settings))
    return folder


def _unimmmu(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """Uni-MMMU's six tasks, read in place from the folder its data.tar unpacks to."""
    from composer.benchmarks.unimmmu.instances import load_instances

    bench = config.benchmark
    folder = config.resolve(bench.path) if bench.path is not None else _unimmmu_from_hub()
    return load_instances(
        folder,
        images,
        tasks=bench.tasks,
        limit=bench.limit,
        withhold_k=bench.withhold_k,
        max_steps=bench.max_steps,
    )


def _unimmmu_from_hub() -> Path:
    """The Hugging Face cache's copy, else fetched where the user accepted the dataset's gate.

    Raises:
        DataError: neither (offline, gated, or not unpacked), saying how to get the data.
    """
    from composer.benchmarks.unimmmu.files import locate_data

    try:
        return locate_data()
    except DataError:
        return locate_data(download=True)


UNIMMMU_SUITE_WRITER = "composer.synthetic.suite.unimmmu:write_unimmmu_suite"
"""Where the synthetic Uni-MMMU-style suite's writer lives (the offline wing, named lazily)."""


def _unimmmu_synthetic(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """A synthetic Uni-MMMU-style suite (maze, sliding, jigsaw), generated into the run folder."""
    from composer.benchmarks.unimmmu.instances import load_instances

    bench = config.benchmark
    if bench.path is not None:
        root = config.resolve(bench.path)
    else:
        settings = {"per_task": bench.n_per_category, "seed": bench.seed}
        what = "a synthetic Uni-MMMU suite"
        root = _generated(run_dir / "unimmmu-suite", UNIMMMU_SUITE_WRITER, settings, what)
    tasks = bench.tasks or SYNTHETIC_UNIMMMU_TASKS
    return load_instances(
        root,
        images,
        tasks=tasks,
        limit=bench.limit,
        withhold_k=bench.withhold_k,
        max_steps=bench.max_steps,
    )


SYNTHETIC_UNIMMMU_TASKS = ("maze", "sliding", "jigsaw")
"""The tasks the synthetic Uni-MMMU-style suite generates (scored offline, from pixels)."""


BENCHMARKS: Registry[Loader] = Registry(
    "benchmark",
    group="composer.benchmarks",
    where="[benchmark] name {!r}",
    define="load(config, images, run_dir) -> list[Instance]",
    hint="path/to/benchmark.py:load",
    builtins={
        "realunify": "composer.benchmarks.loaders:_realunify",
        "jsonl": "composer.benchmarks.loaders:_jsonl",
        "synthetic": "composer.benchmarks.loaders:_synthetic",
        "uni-mmmu": "composer.benchmarks.loaders:_unimmmu",
        "uni-mmmu-synthetic": "composer.benchmarks.loaders:_unimmmu_synthetic",
    },
)
"""The benchmarks: composer's, a package's (entry points in `composer.benchmarks`), files.

A loader takes the run's config, its image store and its folder, and returns the instances;
the first line of its docstring is what `composer list benchmarks` shows.
"""


def benchmarks() -> dict[str, str]:
    """Every benchmark's name and the first line of its loader's docstring."""
    found = {}
    for name in BENCHMARKS.names():
        try:
            doc = (BENCHMARKS.get(name).__doc__ or "").strip().splitlines()
        except ComposerError as exc:  # a broken package's: listed as such, the rest still are
            found[name] = f"unavailable: {exc.what}"
            continue
        found[name] = doc[0].rstrip(".") if doc else ""
    return found


def load_benchmark(config: RunConfig, images: ImageStore, run_dir: Path) -> list[Instance]:
    """Load the instances `[benchmark]` names."""
    name = config.benchmark.name
    loader = BENCHMARKS.get(name, base_dir=config.base_dir)
    bench = config.benchmark
    if bench.instances is not None:  # select first, then take `limit` per category
        config = config.model_copy(update={"benchmark": bench.model_copy(update={"limit": None})})
    instances = _loaded(name, loader, config, images, run_dir)
    if bench.instances is not None:
        instances = _selected(name, instances, bench.instances, bench.limit)
    return instances


def _loaded(
    name: str, loader: Loader, config: RunConfig, images: ImageStore, run_dir: Path
) -> list[Instance]:
    """What `loader` returned, if it is a list of instances under distinct, printable ids.

    Each loader checks its own records; this holds for every loader, a plugin's and a file's
    too, whose code the run cannot vouch for: two instances under one id would become one
    result in the store, silently, and a loader's bug would otherwise end in a traceback.

    Raises:
        DataError: the loader raised, returned something else, or no instance at all.
    """
    where = f"benchmark {name!r}"
    try:
        returned = loader(config, images, run_dir)
    except ComposerError:
        raise
    except Exception as exc:
        raised = Failure.of_exception(exc, graph="")
        at = f" at {raised.location}" if raised.location else ""
        raise DataError(
            where, f"load() raised {raised.error}{at}.", "Fix the loader, then run again."
        ) from exc
    fix = "Return a list of Instance (composer.core.instance), one per case."
    if not isinstance(returned, Iterable) or isinstance(returned, str | bytes | Mapping):
        raise DataError(where, f"load() returned {shown_argument(returned)}.", fix)
    instances = list(returned)  # a generator is read once
    if not instances:
        raise DataError(where, "load() returned no instances.", f"{fix} Check its data path.")
    seen: dict[str, Instance] = {}
    for i, instance in enumerate(instances):
        if not isinstance(instance, Instance):
            raise DataError(where, f"load() returned {shown_argument(instance)} at [{i}].", fix)
        if not instance.id or not instance.id.isprintable():
            raise DataError(
                f"{where} instance [{i}]",
                f"has the id {instance.id!r}: ids name results, files and table rows.",
                "Give it an id of printable characters (no line break or tab).",
            )
        first = seen.setdefault(instance.id, instance)
        if len(seen) <= i:  # the id was there before it (the same object counts twice too)
            raise DataError(
                f"{where} instance {instance.id!r}",
                f"is loaded twice (from {first.source or '?'} and {instance.source or '?'}, "
                f"indexes {first.meta.get('index')!r} and {instance.meta.get('index')!r}).",
                "Give every record its own index or id.",
            )
    return instances


def _selected(
    name: str, instances: list[Instance], patterns: tuple[str, ...], limit: int | None
) -> list[Instance]:
    """The instances whose id matches one of `patterns` (ids or globs), `limit` per category.

    Raises:
        ConfigError: a pattern matches no instance (a typo would otherwise run nothing).
    """
    ids = [i.id for i in instances]
    for pattern in patterns:
        if not fnmatch.filter(ids, pattern):
            example = ", ".join(repr(i) for i in ids[:3]) or "none loaded"
            raise ConfigError(
                f"[benchmark] instances (--instances) {pattern!r}",
                f"matches no instance of benchmark {name!r} (ids look like {example}).",
                "Pass instance ids or glob patterns such as 'UEG-1*', separated by commas.",
            )
    chosen = [i for i in instances if any(fnmatch.fnmatchcase(i.id, p) for p in patterns)]
    if limit is None:
        return chosen
    taken: dict[str, int] = {}
    kept = []
    for instance in chosen:
        taken[instance.category] = taken.get(instance.category, 0) + 1
        if taken[instance.category] <= limit:
            kept.append(instance)
    return kept
