"""A stored JSON object reads as the standard library reads it, whichever decoder reads it, and
read with others (`json_objects`) as it reads alone."""

from __future__ import annotations

import json
import math

import pytest

from composer.evaluation.store_checks import json_object, json_objects

SAME = [
    '{"a": 1, "a": 2}',
    ' {"nested": {"list": [1, 2.5, -0.0, true, null, "x"]}}\n',
    '{"big": 123456789012345678901234567890, "small": -9223372036854775809}',
    '{"u64": 18446744073709551615, "digest": "sha256:0123456789012345678901234567890abc"}',
    '{"huge": 1e400, "tiny": 2.5e-400, "edge": 1.7976931348623157e308}',
    # A price's long fraction reads alike in both; a long integer beside it is still caught.
    '{"cost_usd": 0.0017661551995745719, "pi": 3.14159265358979323846264338, "e": 1.5e-7}',
    '{"x": 12.3456789012345678901234e5, "exp": 1e0000000000000000019}',
    '{"s": "v.12345678901234567890", "t": "a12345678901234567890123"}',
    '{"fraction": 0.1234567890123456789012, "big": [0.5, 99999999999999999999]}',
    '{"version": "1.5", "seed": -1234567890123456789012}',
    '{"text": "\\ud83d\\ude00 \\u0000 \\/ é"}',
    '{"lone": "\\ud800"}',
    '{"lone": "\ud800"}',
    b'{"bytes": "\\u00e9"}',
    '{"a": ' + "[" * 50 + "]" * 50 + "}",
    '{"a":[1,12345678901234567890123]}',
    '{"a":\t-12345678901234567890123}',
    '{"d": "sha256:1234567890123456789012ab", "n": 12345678901234567890123}',
]

DIGEST = "sha256:" + "1234567890123456789" + "ab" * 22 + "1"
TYPICAL = [
    # A run's calls and usages: an image reference that starts with 19 digits, a price whose
    # fraction has 19 digits, digits after a letter, an exponent's digits, text beyond ASCII.
    json.dumps({"prompt": "Is there a square?", "images": [DIGEST], "options": {"steps": 4}}),
    json.dumps({"image": DIGEST}),
    '{"cost_usd": 0.0017661551995745719, "nodes": {"draw": {"calls": 1}}, "steps": []}',
    '{"id": "run12345678901234567890", "scale": 1e0000000000000000019, "text": "é ✓"}',
    " {}\n",
]


@pytest.mark.parametrize("text", SAME)
def test_a_stored_object_reads_as_json_reads_it(text: str | bytes) -> None:
    read = json_object(text)
    assert repr(read) == repr(json.loads(text))  # big integers stay integers, in key order


def test_nan_and_infinity_read_as_json_reads_them() -> None:
    read = json_object('{"a": NaN, "b": Infinity, "c": -Infinity}')
    assert math.isnan(read["a"]) and read["b"] == math.inf and read["c"] == -math.inf


@pytest.mark.parametrize(
    "text", ['{"a": 1,}', '{"a": 01}', '{"a": "x\ty"}', '{"a": 1} x', "\ufeff{}", "{'a': 1}"]
)
def test_what_json_refuses_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        json_object(text)


@pytest.mark.parametrize("text", ["[1]", '"x"', "1"])
def test_json_that_is_not_an_object_is_a_type_error(text: str) -> None:
    with pytest.raises(TypeError):
        json_object(text)


def test_texts_read_together_read_as_each_reads_alone() -> None:
    together = json_objects(TYPICAL)
    assert together is not None  # read together: what a run stores takes the fast path
    assert repr(together) == repr([json.loads(t) for t in TYPICAL])


@pytest.mark.parametrize("text", [t for t in SAME if isinstance(t, str)])
def test_a_batch_reads_each_text_as_json_reads_it_or_is_sent_back(text: str) -> None:
    together = json_objects([*TYPICAL, text])
    if together is not None:
        assert repr(together) == repr([json.loads(t) for t in [*TYPICAL, text]])


@pytest.mark.parametrize(
    "text",
    [
        '{"big": 123456789012345678901234567890}',  # past 64 bits: orjson reads a float
        '{"d": "sha256:1234567890123456789012ab", "n": 12345678901234567890123}',
        '{"a": NaN}',
        '{"lone": "\ud800"}',
        b"{}",
        None,
        "[1]",
        "",
        '{"a": [1',  # two malformed texts that one JSON array of them all would read
        "2]}",
        "{}, {}",
    ],
)
def test_a_text_that_may_not_read_alike_sends_the_batch_back(text: str | bytes | None) -> None:
    """The caller then decodes each text alone, which reads it or names the row."""
    assert json_objects([*TYPICAL, text]) is None
