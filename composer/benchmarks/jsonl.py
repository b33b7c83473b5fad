"""The JSONL instance format: bring any benchmark in without code, one instance per line.

Each line is a JSON object with the `Instance` fields:

    {"id": "wise-1", "axis": "UEG", "category": "culture", "prompt": "...",
     "checks": [{"question": "Is ...?", "answer": "yes"}]}
    {"id": "mmmu-7", "axis": "GEU", "category": "geometry", "image": "images/7.png",
     "question": "...", "options": ["3", "4", "5", "6"], "answer": "B"}

Required: `id` (unique), `axis` (UEG or GEU), `category` (any name; RealUnify's are
normalised). UEG also needs `prompt` and `checks`; GEU needs `image` (a path relative to the
file, inside its folder), `question`, 2-4 `options` and `answer` (a letter among them).
Optional: `subtask`, `step_prompt`, `evaluation_prompt`, `edit_prompt`, `meta` (any object).
A GEU instance without `edit_prompt` gets its category's RealUnify edit prompt at run time, or,
for any other category, `GENERIC_EDIT_PROMPT` (`composer.benchmarks.realunify.protocol`) filled
in at load.
Blank lines and lines starting with `//` are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from composer.benchmarks.realunify.categories import normalize_category
from composer.benchmarks.realunify.protocol import EDIT_PROMPTS, GENERIC_EDIT_PROMPT
from composer.benchmarks.realunify.records import FlatRecord, from_flat
from composer.core.errors import DataError, config_error
from composer.core.files import check_id, confined_path, parse_json, read_text
from composer.core.images import ImageStore
from composer.core.instance import Instance

_FIELDS = set(FlatRecord.model_fields) - {"source"}


def _fail(path: Path, line: int, field: str, what: str, fix: str = "") -> DataError:
    return DataError(f"{path.name} line {line}", f"field '{field}' {what}", fix)


def _instance(path: Path, line: int, data: dict[str, Any], images: ImageStore) -> Instance:
    unknown = set(data) - _FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise _fail(
            path, line, field, "is not an instance field.", f"Known: {', '.join(sorted(_FIELDS))}."
        )
    for field in ("id", "axis", "category"):
        if not isinstance(data.get(field), str) or not data[field].strip():
            raise _fail(path, line, field, f"must be a non-empty string (got {data.get(field)!r}).")
    check_id(data["id"], f"{path.name} line {line}")
    if data["axis"] not in ("UEG", "GEU"):
        raise _fail(path, line, "axis", f"must be UEG or GEU (got {data['axis']!r}).")
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        raise _fail(path, line, "meta", f"must be a JSON object (got {meta!r}).")
    record = dict(data)
    record["category"] = normalize_category(data["category"]) or data["category"]
    if data["axis"] == "UEG":
        for field in ("prompt", "checks"):
            if not data.get(field):
                raise _fail(path, line, field, "is required for a UEG instance.")
    else:
        for field in ("image", "question", "options", "answer"):
            if not data.get(field):
                raise _fail(path, line, field, "is required for a GEU instance.")
        relative = data["image"]
        if not isinstance(relative, str):
            raise _fail(path, line, "image", f"must be a path (got {relative!r}).")
        where = f"{path.name} line {line}"
        image = confined_path(path.parent, relative, where, "image", "file's folder")
        if not image.is_file():
            raise _fail(path, line, "image", f"names a missing image ({relative!r}).")
        options = data["options"]
        if not isinstance(options, list) or not 2 <= len(options) <= 4:
            raise _fail(
                path, line, "options", f"must be a list of 2 to 4 options (got {options!r})."
            )
        answer = data["answer"]
        if not isinstance(answer, str) or len(answer) != 1 or answer not in "ABCD"[: len(options)]:
            raise _fail(
                path, line, "answer", f"must be one of the option letters (got {data['answer']!r})."
            )
        edit_prompt = data.get("edit_prompt")
        is_text = isinstance(edit_prompt, str) and bool(edit_prompt.strip())
        if edit_prompt is not None and not is_text:
            raise _fail(
                path,
                line,
                "edit_prompt",
                f"must be a non-empty string (got {edit_prompt!r}).",
                "Write the instruction the editor gets, or leave the field out for the "
                "category's own (RealUnify's GEU categories) or the generic edit prompt.",
            )
        if edit_prompt is None and record["category"] not in EDIT_PROMPTS:
            # Shown and exported with the instance, so a stepwise run's edit is never a guess.
            record["edit_prompt"] = GENERIC_EDIT_PROMPT.format(question=data["question"])
        record["image"] = images.put_file(image, where=f"{where}: field 'image'")
        record["meta"] = {**meta, "input_image": relative}
    try:
        return from_flat({**record, "source": str(path)})
    except ValidationError as exc:
        where = f"{path.name} line {line}"
        raise config_error(where, exc, noun="field", error=DataError) from None


def load_jsonl(
    path: Path | str,
    images: ImageStore,
    *,
    categories: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[Instance]:
    """Read a JSONL instance file; `limit` caps the instances kept per category."""
    file = Path(path)
    if not file.is_file():
        raise DataError(
            f"benchmark path {str(file)!r}",
            "is not a file.",
            "Point [benchmark] path at a .jsonl file.",
        )
    wanted = None if categories is None else {normalize_category(c) or c for c in categories}
    instances: list[Instance] = []
    seen: dict[str, int] = {}
    per_category: dict[str, int] = {}
    text_of_file = read_text(file, what="JSONL file of instances")
    for number, text in enumerate(text_of_file.splitlines(), start=1):
        if not text.strip() or text.lstrip().startswith("//"):
            continue
        data = parse_json(text, f"{file.name} line {number}")
        if not isinstance(data, dict):
            raise DataError(f"{file.name} line {number}", "must be a JSON object.")
        instance = _instance(file, number, data, images)
        if instance.id in seen:
            raise _fail(
                file,
                number,
                "id",
                f"repeats an earlier id ({instance.id!r}, line {seen[instance.id]}).",
                "Give every instance its own id.",
            )
        seen[instance.id] = number
        if wanted is not None and instance.category not in wanted:
            continue
        if limit is not None and per_category.get(instance.category, 0) >= limit:
            continue
        per_category[instance.category] = per_category.get(instance.category, 0) + 1
        instances.append(instance)
    if not instances:
        raise DataError(
            f"benchmark path {str(file)!r}", "holds no instances (after the category filter)."
        )
    return instances
