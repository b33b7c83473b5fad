"""A Uni-MMMU release root and the lookups every reader shares (paths, JSON, fields, names).

The release runs from the folder holding `data/` (and `outputs/`), and several of its files
name paths relative to that folder, others relative to a task's own folder; `Folder.find`
looks where the release's scripts look, confined to the release root.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from composer.core.errors import DataError
from composer.core.files import confined_path, parse_json, read_text

DATASET = "Vchitect/Uni-MMMU-Eval"
"""The gated Hugging Face dataset that holds `data.tar`."""
HOW_TO_GET = (
    f"Accept the gate of https://huggingface.co/datasets/{DATASET}, then "
    f"`git clone https://huggingface.co/datasets/{DATASET}` and `tar -xf data.tar -C <root>`, "
    "and set [benchmark] path = <root> (the folder holding data/)."
)


class Folder:
    """A release root (`root/data/...`) with the lookups and errors every reader shares."""

    def __init__(self, path: Path | str) -> None:
        """Accept the release root or its `data/` folder.

        A relative path (from the working directory) is made absolute: the lookups under it
        are confined to the absolute root.
        """
        path = Path(path).absolute()
        if (path / "data").is_dir():
            path = path / "data"
        if not path.is_dir():
            raise DataError(f"Uni-MMMU path {str(path)!r}", "is not a folder.", HOW_TO_GET)
        self.data = path
        self.root = path.parent

    def json(self, relative: str) -> Any:
        """The parsed JSON file `data/<relative>`."""
        path = self.data / relative
        return parse_json(read_text(path, what="Uni-MMMU data file"), str(path))

    def find(self, raw: object, bases: Iterable[Path], where: str, field: str) -> Path:
        """The existing file `raw` names, relative to the first of `bases` holding it."""
        if not isinstance(raw, str) or not raw.strip():
            raise DataError(where, f"field '{field}' must be a non-empty path (got {raw!r}).")
        tried = []
        for base in bases:
            path = confined_path(self.root, str(base / raw), where, field, "release folder")
            if path.is_file():
                return path
            tried.append(str(path))
        raise DataError(
            where, f"field '{field}' names a missing file ({raw!r}).", f"Tried {tried}."
        )

    def relative(self, path: Path) -> str:
        """`path` as the release writes it in result files: relative to the release root."""
        return str(path.resolve().relative_to(self.root.resolve()))


def field(record: Mapping[str, Any], key: str, where: str) -> str:
    """`record[key]` when it is a non-empty string, else a `DataError` naming the field."""
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DataError(where, f"field '{key}' must be a non-empty string (got {value!r}).")
    return value


def sanitize(name: object) -> str:
    """The release's folder-name rule: runs of other characters become "_", 120 at most."""
    return re.sub(r"[^a-zA-Z0-9_\-\.]+", "_", (str(name or "")).strip())[:120] or "item"
