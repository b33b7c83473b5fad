"""Export a run's Uni-MMMU outputs in the release's output layout, for its own scorer.

`composer export RUN --format uni-mmmu --output ROOT` writes, per system,
`ROOT/outputs/<system>/<task folder>/<case>/` (`model_text.txt`, `model_image_NN.png` or the
maze and sliding step frames in `cand_01/`, `result.json`, `_done.ok`) and each task's
`summary.json`, with `composer.benchmarks.unimmmu.release.write_case`. The release's scorer
runs from the folder holding `data/` and `outputs/` and opens the paths in `result.json`
relative to it, so export into the release root (beside its `data/`); `import = ROOT`,
`format = "uni-mmmu"` reads the folder back.

With several run seeds, each system and seed gets its own model folder (`<system>-seed<N>`).
An output whose task failed or was refused is not written; one with fewer images than the task
asks for (or an image missing from the run's store) is written with what there is. Both are said,
per case, in the returned notes; nothing is skipped silently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from composer.benchmarks.unimmmu.instances import BENCHMARK, item_of
from composer.benchmarks.unimmmu.records import Item, Task
from composer.benchmarks.unimmmu.release import CaseOutput, write_case, write_summary
from composer.core.errors import ConfigError
from composer.core.outputs import RESPONSE
from composer.evaluation.store import Result, RunStore
from composer.report.export import _Names, _system_seeds, image_source


@dataclass
class Exported:
    """What an export wrote: the model folders, and what it could not write as asked."""

    folders: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _images(store: RunStore, result: Result, where: str, notes: list[str]) -> list[Path]:
    """The kept images of an output, as files of the run's store, in call order."""
    drawn = result.output.get("drawn")
    if not isinstance(drawn, list):
        image = result.output.get("image")
        drawn = [image] if image is not None else []
    found = []
    for position, uri in enumerate(drawn, 1):
        path, why = image_source(store.run_dir, str(uri))
        if path is None:
            notes.append(
                f"{where}: image {position} ({uri!r}) is not in the run's image store ({why})."
            )
            continue
        found.append(path)
    return found


def _case(
    store: RunStore, root: Path, model: str, item: Item, result: Result, notes: list[str]
) -> CaseOutput:
    where = f"outputs/{model}/{item.task.value}/{item.id}"
    images = _images(store, result, where, notes)
    wanted = item.expected.images
    if len(images) < wanted:
        notes.append(
            f"{where}: {len(images)} of {wanted} images (the scorer counts the missing ones)."
        )
    text = result.output.get(RESPONSE)
    return write_case(root, model, item, text if isinstance(text, str) else None, images)


def _check_systems(store: RunStore, systems: Sequence[str] | None) -> list[str]:
    definitions = store.system_definitions()
    names = list(systems or definitions)
    unknown = [n for n in names if n not in definitions]
    if unknown:
        raise ConfigError(
            "--systems",
            f"no system named {', '.join(map(repr, unknown))} in this run.",
            f"It has: {', '.join(definitions)}.",
        )
    return names


def export_unimmmu(store: RunStore, output: Path, systems: Sequence[str] | None = None) -> Exported:
    """Write each system's Uni-MMMU outputs under `output/outputs/<system>/`.

    Raises:
        ConfigError: an unknown system, or a run without Uni-MMMU instances.
    """
    names = _check_systems(store, systems)
    instances = {i: x for i, x in store.instances().items() if x.benchmark == BENCHMARK}
    if not instances:
        raise ConfigError(
            "--format uni-mmmu",
            f"{store.run_dir} holds no Uni-MMMU instances.",
            "Export a RealUnify run with --format realunify.",
        )
    exported = Exported()
    statuses, _ = store.progress()  # how each output ended, before any scoring
    models = _Names()
    for name, seed, several in _system_seeds(store, names):
        model = models.take(f"{name}-seed{seed}" if several else name)
        cases: dict[Task, list[CaseOutput]] = defaultdict(list)
        for result in store.results(name):
            instance = instances.get(result.instance)
            if result.seed != seed or instance is None:
                continue
            item = item_of(instance)
            ran = statuses.get((name, result.instance, seed))
            if ran != "ok" or not any(result.output.get(k) for k in (RESPONSE, "drawn", "image")):
                why = (result.error or "no output").rstrip(".")
                exported.notes.append(f"{name} {result.instance}: not written, {ran} ({why}).")
                continue
            cases[item.task].append(_case(store, output, model, item, result, exported.notes))
        for task, written in cases.items():
            write_summary(output, model, task, written)
        exported.folders.append(output / "outputs" / model)
    if not (output / "data").is_dir():
        exported.notes.append(_NO_DATA.format(output=output))
    return exported


_NO_DATA = (
    "{output} holds no data/ folder: the release's scorer runs from the folder holding data/ "
    "and outputs/ (and opens result.json paths relative to it); export into the release root."
)
