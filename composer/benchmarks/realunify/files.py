"""RealUnify's four JSON files, read into `Instance`s (direct and step records merged by index).

A folder holds `UEG_direct.json`, `UEG_step.json`, `GEU_direct.json`, `GEU_step.json` and the
images the GEU files reference by relative path. Either axis may be absent; a step file is
optional (graphs then build the step prompts from the templates).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from composer.benchmarks.realunify.categories import category_axis, normalize_category
from composer.benchmarks.realunify.records import geu_instance, ueg_instance
from composer.core.errors import DataError
from composer.core.files import check_id, confined_path, parse_json, read_text
from composer.core.images import ImageStore
from composer.core.instance import Axis, Check, Instance

FILES = {
    Axis.UEG: ("UEG_direct.json", "UEG_step.json"),
    Axis.GEU: ("GEU_direct.json", "GEU_step.json"),
}


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of one RealUnify JSON file (a list of objects), or a `DataError`."""
    text = read_text(path, what="RealUnify JSON file")
    if not text.strip():
        raise DataError(str(path), "is empty.", "It must hold a JSON list of records.")
    data = parse_json(text, str(path))
    if isinstance(data, dict):
        data = data.get("data", data.get("records"))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(str(path), "must hold a JSON list of records (objects).")
    return data


class _Record:
    """Typed access to one record's fields, with errors that name file, index and field."""

    def __init__(self, path: Path, position: int, raw: Mapping[str, Any]) -> None:
        self.path = path
        self.raw = raw
        self.position = position
        self.index = raw.get("index", position)
        if isinstance(self.index, bool) or not isinstance(self.index, int | str):
            self.index = position
            raise self.fail("index", f"must be an integer or a string (got {raw['index']!r}).")
        if isinstance(self.index, str):
            check_id(self.index, f"{path.name} record {position}", "index")
        self.key = str(self.index)
        """The index as the instance id spells it: 0 and "0" are one index."""

    def meta(self) -> dict[str, Any]:
        """The record's own identity and any extra fields, kept for export."""
        extra = {k: v for k, v in self.raw.items() if k not in _KNOWN_FIELDS}
        return {"index": self.index, "task_type": self.raw.get("task_type"), **extra}

    def fail(self, field: str, what: str, fix: str = "") -> DataError:
        return DataError(f"{self.path.name} index {self.index}", f"field '{field}' {what}", fix)

    def text(self, field: str, *, required: bool = True) -> str | None:
        value = self.raw.get(field)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(field, f"must be a non-empty string (got {value!r}).")
        return value

    def category(self, axis: Axis) -> str:
        raw = self.text("task_type") or ""
        category = normalize_category(raw)
        if category is None or category_axis(category) != axis:
            raise self.fail(
                "task_type",
                f"is not a {axis.value} category ({raw!r}).",
                "See composer list benchmarks.",
            )
        return category

    def checks(self) -> tuple[Check, ...]:
        value = self.raw.get("question_list")
        if not isinstance(value, list) or not value:
            raise self.fail("question_list", "must be a non-empty list of {question, answer}.")
        checks = []
        for i, item in enumerate(value):
            answer = str(item.get("answer", "")).strip().lower() if isinstance(item, dict) else ""
            question = item.get("question") if isinstance(item, dict) else None
            if answer not in ("yes", "no") or not isinstance(question, str) or not question:
                raise self.fail(
                    f"question_list[{i}]", f"needs a question and answer yes/no (got {item!r})."
                )
            checks.append(Check(question=question, answer=answer))
        return tuple(checks)

    def options(self) -> tuple[str, ...]:
        value = self.raw.get("option", self.raw.get("options"))
        if not isinstance(value, list) or not 2 <= len(value) <= 4:
            raise self.fail("option", f"must be a list of 2 to 4 options (got {value!r}).")
        return tuple(str(v) for v in value)


_KNOWN_FIELDS = {
    "index",
    "task_type",
    "prompt",
    "new_prompt",
    "question_list",
    "input_image",
    "question",
    "option",
    "options",
    "answer",
    "evaluation_prompt",
    "edit_prompt",
    "generated_image",
    "response",
    "edit_image",
}


def _subtask_of(record: Mapping[str, Any], image_path: str | None) -> str | None:
    for key in ("subtask", "sub_task", "subtask_type"):
        if isinstance(record.get(key), str):
            return str(record[key])
    if image_path:
        parts = Path(image_path).parts
        # image/<task_type>/<subtask>/images/img_001.jpg
        if len(parts) >= 5 and parts[0] == "image":
            return parts[2]
    return None


def _resolve_image(root: Path, record: _Record, field: str) -> Path:
    relative = record.text(field) or ""
    where = f"{record.path.name} index {record.index}"
    path = confined_path(root, relative, where, field, "dataset folder")
    if not path.is_file():
        raise record.fail(
            field, f"names a missing image ({relative!r}).", f"Expected it at {path}."
        )
    return path


def _ueg(root: Path, direct: _Record, step: _Record | None) -> Instance:
    category = direct.category(Axis.UEG)
    return ueg_instance(
        id=f"UEG-{direct.index}",
        category=category,
        subtask=_subtask_of(direct.raw, None),
        prompt=direct.text("prompt") or "",
        step_prompt=step.text("new_prompt") if step else None,
        checks=direct.checks(),
        source=str(root),
        meta=direct.meta(),
    )


def _geu(root: Path, direct: _Record, step: _Record | None, images: ImageStore) -> Instance:
    category = direct.category(Axis.GEU)
    image_path = _resolve_image(root, direct, "input_image")
    answer = (direct.text("answer") or "").strip().upper()
    options = direct.options()
    if answer not in "ABCD"[: len(options)] or len(answer) != 1:
        raise direct.fail("answer", f"must be one of the option letters (got {answer!r}).")
    return geu_instance(
        id=f"GEU-{direct.index}",
        category=category,
        subtask=_subtask_of(direct.raw, direct.raw.get("input_image")),
        image=images.put_file(image_path, where=f"{direct.path.name} index {direct.index}"),
        question=direct.text("question") or "",
        options=options,
        answer=answer,
        evaluation_prompt=direct.text("evaluation_prompt"),
        edit_prompt=step.text("edit_prompt") if step else None,
        source=str(root),
        meta={**direct.meta(), "input_image": direct.raw["input_image"]},
    )


def load_folder(
    root: Path | str,
    images: ImageStore,
    *,
    categories: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[Instance]:
    """Read a RealUnify-format folder; `limit` caps the instances kept per category.

    Raises:
        DataError: naming the file, the record index and the field, for the first bad record.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"benchmark path {str(root)!r}",
            "is not a folder.",
            "Point [benchmark] path at the folder holding UEG_direct.json and GEU_direct.json.",
        )
    wanted = _wanted_categories(categories)
    instances: list[Instance] = []
    for axis, (direct_name, step_name) in FILES.items():
        direct_path = root / direct_name
        if not direct_path.exists():
            continue
        step_path = root / step_name
        steps: dict[str, _Record] = {}
        if step_path.exists():
            for i, raw in enumerate(read_records(step_path)):
                record = _Record(step_path, i, raw)
                _check_unique(record, steps)
                steps[record.key] = record
        per_category: dict[str, int] = {}
        seen: dict[str, _Record] = {}
        for i, raw in enumerate(read_records(direct_path)):
            record = _Record(direct_path, i, raw)
            _check_unique(record, seen)
            seen[record.key] = record
            category = record.category(axis)
            if wanted is not None and category not in wanted:
                continue
            if limit is not None and per_category.get(category, 0) >= limit:
                continue
            step = steps.get(record.key)
            if step is not None and step.category(axis) != category:
                raise step.fail("task_type", f"differs from {direct_name} ({category!r}).")
            if axis is Axis.UEG:
                instances.append(_ueg(root, record, step))
            else:
                instances.append(_geu(root, record, step, images))
            per_category[category] = per_category.get(category, 0) + 1
    if not instances:
        raise DataError(
            f"benchmark path {str(root)!r}",
            "holds no instances (no UEG_direct.json or GEU_direct.json, "
            "or none left after the category filter).",
        )
    return instances


def _check_unique(record: _Record, earlier: Mapping[str, _Record]) -> None:
    """Two records that would become one instance id are an error naming both."""
    first = earlier.get(record.key)
    if first is not None:
        raise record.fail(
            "index",
            f"repeats an earlier record's index: records {first.position} and "
            f"{record.position} have indexes {first.index!r} and {record.index!r}, "
            'which name one instance (0 and "0" are the same index).',
            "Give every record its own index.",
        )


def _wanted_categories(categories: Iterable[str] | None) -> set[str] | None:
    if categories is None:
        return None
    wanted = set()
    for name in categories:
        canonical = normalize_category(name)
        if canonical is None:
            raise DataError(
                "[benchmark] categories",
                f"unknown category {name!r}.",
                "Use a RealUnify task_type such as 'world_knowledge' or its abbreviation ('WK').",
            )
        wanted.add(canonical)
    return wanted
