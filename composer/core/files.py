"""Reading what other people send: files, JSON, ids and paths, with errors that say where.

Every loader reads its files through these helpers, so a file that is not UTF-8, a folder
where a file should be, JSON nested thousands deep, a lone surrogate or a NUL byte in a path
becomes one `DataError` naming the file (and the record) instead of a traceback.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

from composer.core.errors import ConfigError, DataError

MAX_ID_LENGTH = 200
"""The longest id (or RealUnify index) accepted."""


def read_text(path: Path, *, what: str = "file", error: type[ConfigError] = DataError) -> str:
    """The UTF-8 text of `path`, or one error saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(str(path), "does not exist.", f"Pass the path of a {what}.") from None
    except IsADirectoryError:
        raise error(str(path), "is a folder, not a file.", f"Pass the path of a {what}.") from None
    except UnicodeDecodeError as exc:
        raise error(
            str(path),
            f"is not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at {exc.start}).",
            f"Save it as UTF-8; is it really a {what}?",
        ) from None
    except (OSError, ValueError) as exc:
        raise error(str(path), f"cannot be read ({exc}).", f"Pass a readable {what}.") from None


def parse_json(text: str, where: str) -> Any:
    """`json.loads` with malformed, too deeply nested or non-UTF-8 text as a `DataError`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(where, f"is not valid JSON ({exc}).", "Check the file.") from None
    except RecursionError:
        raise DataError(
            where,
            "is nested too deeply to be a benchmark record (thousands of levels).",
            "Check the file.",
        ) from None
    try:
        # A lone surrogate ("\ud800") decodes from JSON but can be neither stored nor sent.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(
            where,
            f"holds text that is not valid Unicode ({exc.object[exc.start : exc.end]!r}, "
            "a lone surrogate).",
            "Fix the \\u escape in the file.",
        ) from None
    except RecursionError:
        raise DataError(where, "is nested too deeply.", "Check the file.") from None
    return data


def check_id(value: str, where: str, field: str = "id") -> str:
    """`value` if it can name an instance: non-empty, printable, no path separators.

    Ids become file names in exports and reports and keys in the run store, so they are
    checked once, at load.
    """
    problem = None
    if not value.strip():
        problem = "is empty"
    elif len(value) > MAX_ID_LENGTH:
        problem = f"is longer than {MAX_ID_LENGTH} characters"
    elif any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in value):
        problem = "holds a control character or invalid Unicode"
    elif "/" in value or "\\" in value or value.strip(".") == "":
        problem = "holds a path separator or is only dots"
    if problem is not None:
        raise DataError(
            where,
            f"field '{field}' {problem} ({value!r}).",
            "Use letters, digits, '-', '_' or '.'.",
        )
    return value


def confined_path(
    root: Path, relative: str, where: str, field: str, folder: str = "folder"
) -> Path:
    """The path `relative` names inside `root` (it may not exist), or a `DataError`.

    `relative` may be absolute only when it lies inside `root`. Symlinks are followed before
    the check, so a link inside the folder that points out of it is refused like `../`.
    """
    if "\x00" in relative:
        raise DataError(where, f"field '{field}' holds a NUL byte ({relative!r}).", "Fix the path.")
    base = root.resolve()
    try:
        path = (base / relative).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise DataError(where, f"field '{field}' is not a usable path ({exc}).") from None
    if not path.is_relative_to(base):
        raise DataError(
            where,
            f"field '{field}' escapes the {folder} ({relative!r}).",
            f"Paths (and the links they go through) must stay inside {base}.",
        )
    return path
