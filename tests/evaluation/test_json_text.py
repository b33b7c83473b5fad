"""The store's JSON text and the cache keys' canonical text are json.dumps's, byte for byte."""

import json
import math

import pytest

from composer.evaluation.json_text import text_encoder

VALUES = [
    {"prompt": "Are there 3 stars?", "images": ["sha256:ab.png"], "options": {}},
    {"text": "yes", "usage": {"input_tokens": 10, "cost_usd": None}, "latency_s": 1.2345e-05},
    {"b": [1, 2.5, -0.0, 1e300, True, False, None], "a": {"z": 'é\u2028\n"\\', "y": []}},
    {"floats": [math.inf, -math.inf], "big": 10**30, "nested": [[{"k": (1, 2)}]]},
    "a string alone",
    [],
    3.0,
    None,
]


@pytest.mark.parametrize("value", VALUES)
def test_text_is_json_dumps_text(value: object) -> None:
    assert text_encoder()(value) == json.dumps(value)


@pytest.mark.parametrize("value", VALUES)
def test_canonical_text_is_json_dumps_text(value: object) -> None:
    options = {"sort_keys": True, "separators": (",", ":"), "default": str}
    assert text_encoder(**options)(value) == json.dumps(value, **options)


def test_default_and_errors_are_json_dumps_own() -> None:
    class Odd:
        def __str__(self) -> str:
            return "odd"

    canonical = text_encoder(sort_keys=True, separators=(",", ":"), default=str)
    assert canonical({"x": Odd()}) == '{"x":"odd"}'
    with pytest.raises(TypeError):
        text_encoder()({"x": Odd()})
    with pytest.raises(ValueError):
        text_encoder(allow_nan=False)(math.nan)
