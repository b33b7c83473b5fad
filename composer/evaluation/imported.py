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

Image paths are relative to the folder (absolute paths are taken as they are). A record
without its output, or whose image is missing, makes that instance `failed` (counted and shown,
never dropped); a file that cannot be read at all is a configuration error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from composer.benchmarks.realunify import read_records
from composer.core.errors import ConfigError, DataError
from composer.core.images import ImageStore
from composer.core.instance import Axis, Instance

Mode = Literal["direct", "step"]

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
    """Instance id to graph-like output state (`image`, `rewrite`, `edited_image`, `response`)."""
    missing: dict[str, str] = field(default_factory=dict)
    """Instance id to why it has no usable output."""


def read_imported(
    folder: Path, mode: Mode, images: ImageStore, instances: list[Instance]
) -> ImportedOutputs:
    """Read the result files of `mode` in `folder` for the benchmark's `instances`."""
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
        seen: set[str] = set()
        for position, record in enumerate(read_records(path)):
            index = record.get("index", position)
            instance_id = f"{axis.value}-{index}"
            where = f"{name} index {index}"
            if instance_id not in by_id:
                raise DataError(
                    where,
                    "names no instance of the benchmark.",
                    "Import result files made for the same benchmark folder.",
                )
            if instance_id in seen:
                raise DataError(where, "repeats an earlier record's index.")
            seen.add(instance_id)
            try:
                result.outputs[instance_id] = _output(folder, mode, axis, record, images)
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


def _image(folder: Path, record: dict[str, Any], name: str, images: ImageStore) -> Any:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _Missing(f"no '{name}' image path (got {value!r}).")
    path = Path(value) if Path(value).is_absolute() else folder / value
    if not path.is_file():
        raise _Missing(f"'{name}' names a missing file ({value!r}).")
    try:
        return images.put_file(path)
    except DataError as exc:
        raise _Missing(f"'{name}' is not a readable image ({value!r}).") from exc


def _output(
    folder: Path, mode: Mode, axis: Axis, record: dict[str, Any], images: ImageStore
) -> dict[str, Any]:
    # The scored output is required; a step's intermediate is kept when it is there.
    if axis is Axis.UEG:
        output = {"image": _image(folder, record, "generated_image", images)}
        if mode == "step" and isinstance(record.get("response"), str):
            output["rewrite"] = record["response"]
        return output
    output = {"response": _text(record, "response")}
    if mode == "step" and record.get("edit_image"):
        output["edited_image"] = _image(folder, record, "edit_image", images)
    return output
