"""Imported Uni-MMMU systems: another harness's outputs, in the release's output layout.

The release's sample scripts write, under its root (the folder holding `data/` and `outputs/`),
`outputs/<model>/<task folder>/<case>/` with `model_text.txt`, `model_image_NN.png` (maze and
sliding: the step frames in `cand_01/`), `result.json` and `_done.ok`
(`composer.benchmarks.unimmmu.release`). A system with `import = ROOT`, `format = "uni-mmmu"`
and `release_model = MODEL` reads each case of the run's Uni-MMMU instances as the release's
scorer reads it, and its kept text and images become the output state a run system leaves
(`response`, `drawn`, `image`), so the same scorers score it:

- the text is `model_text.txt` (maze and sliding: its first candidate, as the strict reading
  counts it; a missing file is no text, None, which the science scorer does not judge where
  it judges an empty file, as the release does);
- the images are the case's `model_image_*.*` files, sorted (maze and sliding: the files of
  its first `cand_*` folder), each checked to stay inside the root and to be an image;
- `result.json` paths are resolved as the release resolves them, relative to the root: a
  `step0` or `init_png` that names an existing file other than the item's own makes that case
  failed (outputs made for other data), as does a jigsaw `id` that differs.

Jigsaw is scored as `JigsawEvaluator` picks its cases: those whose id the task's own
`summary.json` lists in `per_item`. A listed case without a folder is scored as found (no text,
no images: 0 and the 1.0 distance penalty); a case folder not listed is scored for the strict
reading only, its official values None ("not in the run's summary"), as the release leaves it
out (`LEFT_OUT`). So is a maze or sliding case with no text and no `cand_*` folder (the release
makes no row of it), and one whose `result.json` names no `step0` / `init_png` is failed (the
release skips it). A code case's reference is the one its `result.json` names, as
`CodeSVGEvaluator` reads it (`code_reference`): the PNG, else the SVG rasterised, else none
(0 in every channel), whatever the metadata says.

What the release scores as 0 is scored here too, in its denominator: a science or code case
with no image (its image channels 0, its text still judged), and a science case with no folder
at all (the science scorer walks every case of `dim_all.json`, so a missing one reads as no
text and no image: 0, 0 and 0). These outputs are scored as found (`scored_as_found`), not
failed for lacking the image a UEG output otherwise must hold. Any other missing case folder
is a `failed` instance with the reason, as the release leaves it out of its denominator;
nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from composer.benchmarks.unimmmu.instances import BENCHMARK, item_of
from composer.benchmarks.unimmmu.records import (
    OUTPUT_FOLDERS,
    Item,
    MazeReferences,
    SlidingReferences,
    Task,
)
from composer.benchmarks.unimmmu.release import (
    CaseOutput,
    code_reference,
    read_case,
    resolve,
    run_ids,
    task_dir,
)
from composer.core.errors import ConfigError, DataError
from composer.core.files import confined_path
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import Instance
from composer.core.outputs import IMAGE, RESPONSE
from composer.evaluation.imported import ImportedOutputs

DRAWN = "drawn"
"""The output state's key for every kept image, in call order (as `graphs.interleaved` sets)."""

LEFT_OUT = "release_left_out"
"""Why the release makes no row of this case (officially unscored; the strict reading scores
it): a jigsaw case its `summary.json` does not list, a maze or sliding case with no text and
no candidate folder."""

CODE_REFERENCE = "code_reference"
"""A code case's reference as its `result.json` names it: {"png": image ref, "svg": path}."""


class _Missing(Exception):
    """A case has no usable output: a `failed` instance, not a stop."""


def _models(root: Path) -> str:
    found = sorted(p.name for p in (root / "outputs").glob("*") if p.is_dir())
    return ", ".join(found) or "none"


def _base(root: Path, model: str) -> Path:
    where = f"import {str(root)!r}"
    if not root.is_dir():
        raise ConfigError(
            where, "is not a folder.", "Point import at the release root (holding outputs/)."
        )
    base = confined_path(root, f"outputs/{model}", where, "release_model", "release root")
    if not base.is_dir():
        raise ConfigError(
            where,
            f"holds no outputs/{model} folder (release_model = {model!r}).",
            f"Set release_model to one of the folders under outputs/: {_models(root)}.",
        )
    return base


def _stored(root: Path, path: Path, images: ImageStore, where: str) -> ImageRef:
    inside = confined_path(root, str(path), where, "image", "release root")
    try:
        return images.put_file(inside, where=where)
    except DataError as exc:
        raise _Missing(f"{path.name} is not a usable image: {exc.what}") from exc


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _check_result(root: Path, item: Item, case: CaseOutput) -> None:
    """Refuse a case whose `result.json` names another item's files, resolved as the release."""
    refs = item.references
    named: dict[str, Path] = {}
    if isinstance(refs, MazeReferences):
        named["step0"] = refs.step0
    if isinstance(refs, SlidingReferences):
        named["init_png"] = refs.initial
    for key, own in named.items():
        recorded = case.result.get(key)
        if not recorded:
            raise _Missing(f"result.json names no {key}, so the release skips the case")
        if isinstance(recorded, str):
            path = resolve(root, recorded)
            if path.is_file() and not _same_file(path, own):
                raise _Missing(
                    f"result.json {key} {recorded!r} is not this item's file "
                    "(outputs made for another data folder?)"
                )
    own_id = item.result_fields.get("id")  # jigsaw: the metadata's id, which the scorer reads
    if own_id is not None and "id" in case.result and str(case.result["id"]) != own_id:
        raise _Missing(f"result.json id is {case.result['id']!r}, the item's is {own_id!r}")


def _output(
    root: Path, item: Item, case: CaseOutput, images: ImageStore, where: str
) -> dict[str, Any]:
    _check_result(root, item, case)
    if item.task in (Task.MAZE, Task.SLIDING):
        text: str | None = case.texts[0] if case.texts else ""
        files: Sequence[Path] = case.candidates[0] if case.candidates else ()
    else:
        text = case.text  # None without the file: the release judges an empty file, not none
        files = case.images
    drawn = [_stored(root, f, images, f"{where}: {f.name}") for f in files]
    output: dict[str, Any] = {RESPONSE: text, DRAWN: drawn}
    if drawn:
        output[IMAGE] = drawn[0]
    if item.task in (Task.MAZE, Task.SLIDING) and not (case.texts or case.candidates):
        output[LEFT_OUT] = "no text and no frames: no row"  # as `folder_scoring` notes it
    if item.task is Task.CODE:
        png, svg = code_reference(root, case)
        if png is not None:
            png_ref: str | None = str(_stored(root, png, images, f"{where}: result.json png"))
        else:
            png_ref = None
        if svg is not None:
            svg = confined_path(root, str(svg), where, "svg", "release root")
        output[CODE_REFERENCE] = {"png": png_ref, "svg": None if svg is None else str(svg)}
    return output


def read_unimmmu_outputs(
    root: Path,
    model: str,
    images: ImageStore,
    instances: list[Instance],
    *,
    is_subset: bool = False,
) -> ImportedOutputs:
    """Read `root/outputs/<model>/` for the run's Uni-MMMU `instances` (module docstring).

    With `is_subset` (the run selects tasks, categories or a limit), case folders of items
    outside the selection are passed over; otherwise a case folder naming no item is an error.

    Raises:
        ConfigError: the root or the model folder is missing, or the run has no Uni-MMMU
            instances.
        DataError: a case folder names no item (a full run), or a path leaves the root.
    """
    base = _base(root, model)
    mine = [i for i in instances if i.benchmark == BENCHMARK]
    if not mine:
        raise ConfigError(
            f"import {str(root)!r}",
            'is in the Uni-MMMU layout (format = "uni-mmmu"), but the run has no Uni-MMMU '
            "instances.",
            '[benchmark] name = "uni-mmmu" (or "uni-mmmu-synthetic") with the same data.',
        )
    result = ImportedOutputs(root, "step", scored_as_found=True)
    items = {i.id: item_of(i) for i in mine}
    listed = run_ids(root, model)  # the jigsaw cases the release scores, unconverted
    for instance in mine:
        item = items[instance.id]
        folder = task_dir(root, model, item.task)
        where = f"outputs/{model}/{OUTPUT_FOLDERS[item.task]}/{item.id}"
        if folder.is_dir():
            result.axes.add(instance.axis)
        case = folder / item.id
        is_listed = item.task is Task.JIGSAW and item.result_fields.get("id") in listed
        if not case.is_dir():
            if (item.task is Task.SCIENCE and folder.is_dir()) or is_listed:
                result.outputs[instance.id] = {RESPONSE: None, DRAWN: []}  # 0s (docstring)
            else:
                result.missing[instance.id] = f"{where}: no such case folder."
            continue
        try:
            output = _output(root, item, read_case(case), images, where)
        except _Missing as missing:
            result.missing[instance.id] = f"{where}: {missing}."
            continue
        if item.task is Task.JIGSAW and not is_listed:
            output[LEFT_OUT] = "not in the run's summary"  # as `folder_scoring` notes it
        result.outputs[instance.id] = output
    if not result.axes:
        raise ConfigError(
            f"import {str(base)!r}",
            "holds none of the task folders of the run's instances "
            f"({', '.join(sorted({OUTPUT_FOLDERS[i.task] for i in items.values()}))}).",
            "Check the folder and release_model.",
        )
    if not is_subset:
        _refuse_unknown(root, model, items.values())
    return result


def _refuse_unknown(root: Path, model: str, items: Any) -> None:
    known: dict[Task, set[str]] = {}
    for item in items:
        known.setdefault(item.task, set()).add(item.id)
    for task, ids in known.items():
        folder = task_dir(root, model, task)
        for case in sorted(folder.glob("*")) if folder.is_dir() else ():
            if case.is_dir() and case.name not in ids:
                raise DataError(
                    f"outputs/{model}/{OUTPUT_FOLDERS[task]}/{case.name}",
                    "names no item of the benchmark.",
                    "Import outputs made for the same data folder, or select a subset.",
                )
