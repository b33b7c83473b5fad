"""A parsed run file's values, checked before any model reads them: numbers and nesting.

TOML reads `nan`, `inf` and a literal too large for a float (`1e400`) as floats, and integers
of any size; a run file's free tables (a judge's or a graph's options, `[models."..."]`) pass
them on unchecked. A NaN weight makes every accuracy NaN, an infinite latency never ends, an
integer past 64 bits cannot be stored, and a table nested hundreds deep exhausts the stack of
whatever walks it. `check_document` refuses each, anywhere in the file, naming the key.

Example:
    >>> try:
    ...     check_document({"benchmark": {"total_weights": {"UEG": float("nan")}}}, "run.toml")
    ... except ConfigError as error:
    ...     print(error.where)
    run.toml key benchmark.total_weights.UEG
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from composer.core.errors import ConfigError

MAX_DEPTH = 32
"""The deepest a run file's tables and lists may nest (a real one nests about four deep)."""
INT_RANGE = (-(2**63), 2**63 - 1)
"""Integers the run store can keep (SQLite's INTEGER, a signed 64-bit number)."""
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(path: tuple[str | int, ...]) -> str:
    """The dotted TOML key of `path`, quoted where a part is not a bare key (`models."a/b"`)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if _BARE.fullmatch(part) else json.dumps(part)
        text += f".{name}" if text else name
    return text


def check_document(data: Any, source: str) -> None:
    """Refuse a non-finite or overflowing number, or nesting deeper than `MAX_DEPTH`.

    Raises:
        ConfigError: naming `source`, the key and the value, with the fix.
    """
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:  # iterative: the depth check must not itself run out of stack
        path, value = stack.pop()
        where = f"{source} key {_key(path)}" if path else source
        if len(path) > MAX_DEPTH:
            raise ConfigError(
                where,
                f"is nested more than {MAX_DEPTH} tables or lists deep.",
                "A run file nests a few levels; check the file.",
            )
        if isinstance(value, dict):
            stack.extend(((*path, str(k)), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            what = f"is not a finite number (got {value!r})."
            raise ConfigError(where, what, "Write a finite number, e.g. 0.5.")
        elif isinstance(value, int) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise ConfigError(
                where,
                f"is too large to store (got {value}; integers go up to {INT_RANGE[1]}).",
                "Write a smaller number.",
            )
