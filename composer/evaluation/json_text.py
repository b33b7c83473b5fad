"""JSON text exactly as `json.dumps` writes it, from an encoder built once.

The run store keeps `json.dumps` text (calls' requests, replies and usages; results' outputs)
and cache keys hash a canonical encoding; both are read back and compared byte for byte, so
the text must not change. `json.dumps` (and `JSONEncoder.encode`) builds a new C encoder on
every call, about half the cost of encoding a model call's small dicts; `text_encoder` builds
it once. No maintained library writes the same text (orjson and ujson separate and format
floats differently), so this uses the standard library's own C encoder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _encoder
from typing import Any


def text_encoder(**options: Any) -> Callable[[Any], str]:
    """A function that returns `json.dumps(value, **options)`'s text, its encoder built once.

    The circular-reference check is left out (it needs a fresh record per call); a circular
    value raises `RecursionError` here where `json.dumps` raises `ValueError`, and no value the
    store writes can be circular (they are built from replies and outputs, never from
    themselves). Without the C encoder (another Python), it is `JSONEncoder(**options).encode`.

    Example:
        >>> dumps = text_encoder()
        >>> dumps({"b": 1.5, "a": [None, "é"]}) == json.dumps({"b": 1.5, "a": [None, "é"]})
        True
    """
    python = json.JSONEncoder(**options)
    make = getattr(_encoder, "c_make_encoder", None)  # not in the type stubs
    if make is None or python.indent is not None:
        return python.encode
    ascii_only = python.ensure_ascii
    strings = _encoder.encode_basestring_ascii if ascii_only else _encoder.encode_basestring
    iterencode = make(
        None,  # no circular-reference record
        python.default,
        strings,
        python.indent,
        python.key_separator,
        python.item_separator,
        python.sort_keys,
        python.skipkeys,
        python.allow_nan,
    )

    def encode(value: Any) -> str:
        return "".join(iterencode(value, 0))

    return encode
