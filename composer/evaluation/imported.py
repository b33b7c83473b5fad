"""Imported systems: outputs computed elsewhere, read from filled-in RealUnify result files.

A unified model with its own inference code (BAGEL, OmniGen2, Show-o2, ...) is run outside
composer; its outputs come back in the official result files and are judged and reported like
any run system. The fields read per file:

| file | fields |
| --- | --- |
| `UEG_direct.json` | `generated_image` |
| `UEG_step.json` | `generated_image`, and `response` (the rewrite) when present |
| `GEU_direct.json` | `response` |
| `GEU_step.json` | `response`, and `edit_image` when present |

Image paths are relative to the folder and must stay inside it: `../`, an absolute path
elsewhere or a symlink that leads out of the folder is a configuration error, so a shared
folder cannot make composer copy `/proc/self/environ` or a key file into the run. An image
file is checked to be an image of bounded size before it is read (`ImageStore.put_file`). A
record without its output, or whose scored image is missing or unreadable, makes that instance
`failed` (counted and shown, never dropped); a file that cannot be read at all is a
configuration error. A GEU step record's `edit_image` is not scored (the release reads the
response alone): one that is missing, unusable or outside the folder is noted with the output
(`edit_image_note`), never read, and the answer is scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from composer.benchmarks.realunify import read_records
from composer.core.errors import ConfigError, DataError
from composer.core.files import check_id, confined_path
from composer.core.images import ImageStore
from composer.core.instance import Axis, Instance
from composer.core.outputs import EDITED_IMAGE, IMAGE, RESPONSE, REWRITE

Mode = Literal["direct", "step"]

EDIT_NOTE = "edit_image_note"
"""The output key saying why a GEU step record's `edit_image` was not kept."""

RESULT_FILES: dict[tuple[Mode, Axis], str] = {
    ("direct", Axis.UEG): "UEG_direct.json",
    ("step", Axis.UEG): "UEG_step.json",
    ("direct", Axis.GEU): "GEU_direct.json",
    ("step", Axis.GEU): "GEU_step.json",
}


@dataclass
class ImportedOutputs:
    """What one imported system produced, per instance id, ready to score."""

    folder: Path
    mode: Mode
    axes: set[Axis] = field(default_factory=set)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Instance id to a graph-like final state, keyed as `composer.core.outputs` declares."""
    missing: dict[str, str] = field(default_factory=dict)
    """Instance id to why it has no usable output."""
    scored_as_found: bool = False
    """Whether an output without what its axis scores (a UEG image) is scored as it is, as the
    benchmark's own scorer does (Uni-MMMU's gives it 0), instead of being `failed`."""


def read_imported(
    folder: Path,
    mode: Mode,
    images: ImageStore,
    instances: list[Instance],
    *,
    is_subset: bool = False,
) -> ImportedOutputs:
    """Read the result files of `mode` in `folder` for the benchmark's `instances`.

    With `is_subset` (the run selects categories or a limit), records of instances outside the
    selection are passed over; otherwise a record naming no instance is an error.
    """
    if not folder.is_dir():
        raise ConfigError(
            f"import {str(folder)!r}",
            "is not a folder.",
            "Point import at the folder holding the filled-in result files.",
        )
    result = ImportedOutputs(folder, mode)
    by_id = {i.id: i for i in instances}
    for (file_mode, axis), name in RESULT_FILES.items():
        path = folder / name
        if file_mode != mode or not path.exists():
            continue
        result.axes.add(axis)
        seen: dict[str, tuple[int, Any]] = {}
        for position, record in enumerate(read_records(path)):
            index = record.get("index", position)
            if isinstance(index, bool) or not isinstance(index, int | str):
                raise DataError(
                    f"{name} record {position}",
                    f"field 'index' must be an integer or a string (got {index!r}).",
                )
            if isinstance(index, str):
                check_id(index, f"{name} record {position}", "index")
            instance_id = f"{axis.value}-{index}"
            where = f"{name} index {index}"
            if instance_id not in by_id:
                if is_subset:
                    continue
                raise DataError(
                    where,
                    "names no instance of the benchmark.",
                    "Import result files made for the same benchmark folder.",
                )
            if instance_id in seen:
                first, other = seen[instance_id]
                raise DataError(
                    where,
                    f"repeats an earlier record's index: records {first} and {position} have "
                    f"indexes {other!r} and {index!r}, which name one instance "
                    '(0 and "0" are the same index).',
                    "Keep one record per instance.",
                )
            seen[instance_id] = (position, index)
            try:
                result.outputs[instance_id] = _output(folder, mode, axis, record, images, where)
            except _Missing as missing:
                result.missing[instance_id] = f"{where}: {missing}"
        for instance in instances:
            if instance.axis is axis and instance.id not in seen:
                result.missing[instance.id] = f"{name} has no record for index {instance.id}."
    if not result.axes:
        wanted = ", ".join(n for (m, _), n in RESULT_FILES.items() if m == mode)
        raise ConfigError(
            f"import {str(folder)!r}",
            f"holds none of the {mode} result files ({wanted}).",
            'Check the folder, or the mode ("direct" or "step").',
        )
    return result


class _Missing(Exception):
    """An instance's output is absent or unreadable: a `failed` result, not a stop."""


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if isinstance(value, list) and value:
        value = value[0]  # the released GEU scorer reads a listed response from its first item
    if not isinstance(value, str):
        raise _Missing(f"no '{name}' text (got {value!r}).")
    return value


def _image(folder: Path, record: dict[str, Any], name: str, images: ImageStore, where: str) -> Any:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _Missing(f"no '{name}' image path (got {value!r}).")
    # Outside the folder is refused outright (DataError), not a failed instance: it is never
    # an honest result file.
    path = confined_path(folder, value, where, name, "import folder")
    if not path.is_file():
        raise _Missing(f"'{name}' names a missing file ({value!r}).")
    try:
        return images.put_file(path, where=f"{where}: field '{name}'")
    except DataError as exc:
        raise _Missing(f"'{name}' is not a usable image ({value!r}): {exc.what}") from exc


def _output(
    folder: Path,
    mode: Mode,
    axis: Axis,
    record: dict[str, Any],
    images: ImageStore,
    where: str,
) -> dict[str, Any]:
    # The scored output is required; a step's intermediate is kept when it is there.
    if axis is Axis.UEG:
        output = {IMAGE: _image(folder, record, "generated_image", images, where)}
        if mode == "step" and isinstance(record.get("response"), str):
            output[REWRITE] = record["response"]
        return output
    output = {RESPONSE: _text(record, "response")}
    if mode == "step" and record.get("edit_image"):
        # Shown, never scored: the release scores a GEU answer from its response alone, so
        # an edit_image that is missing, unusable or outside the folder (an author's absolute
        # path) is noted and not read, and the instance is scored as the release scores it.
        try:
            output[EDITED_IMAGE] = _image(folder, record, "edit_image", images, where)
        except _Missing as exc:
            output[EDIT_NOTE] = f"edit_image not kept: {exc}"
        except DataError as exc:
            output[EDIT_NOTE] = f"edit_image not kept: {exc.what}"
    return output
