"""A model adapter's own fault fails the call as that model's, located, and is not retried.

An adapter (composer's, a plug-in's, a notebook's) turns what its provider says into replies and
`SpecialistError`s. A reply of the wrong type (a str from `understand`, a PIL image from
`generate`) and an exception it lets out were blamed on the node that made the call ("Fix the
node": an `AttributeError` located in composer's call layer, or the adapter's `KeyError`), and a
PIL image was called an empty reply and asked for again `max_attempts` times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import composer
from composer.specialists.base import TextReply
from composer.specialists.mock import MockSpecialist
from composer.specialists.registry import PROVIDERS

SENT: Counter[str] = Counter()


class TextAsStr(MockSpecialist):
    provider = "text-as-str"

    async def understand(self, prompt: str, images: Any = (), *, options: Any = None) -> Any:
        SENT[self.provider] += 1
        return "A"


class TextNotText(MockSpecialist):
    provider = "text-not-text"

    async def understand(self, prompt: str, images: Any = (), *, options: Any = None) -> Any:
        SENT[self.provider] += 1
        return TextReply.model_construct(text=3)


class Pixels(MockSpecialist):
    provider = "pixels"

    async def generate(self, prompt: str, *, seed: int, options: Any = None) -> Any:
        SENT[self.provider] += 1
        return Image.new("RGB", (4, 4))


class Raising(MockSpecialist):
    provider = "raising"

    async def understand(self, prompt: str, images: Any = (), *, options: Any = None) -> Any:
        SENT[self.provider] += 1
        raise KeyError("choices")


ADAPTERS = (TextAsStr, TextNotText, Pixels, Raising)


@pytest.fixture(autouse=True)
def adapters() -> Iterator[None]:
    SENT.clear()
    for adapter in ADAPTERS:
        PROVIDERS.register(adapter.provider, adapter)
    yield
    for adapter in ADAPTERS:
        PROVIDERS.unregister(adapter.provider)


def run(tmp_path: Path, provider: str, role: str) -> list[Any]:
    roles = {"reasoner": "symbolic/reasoner", "generator": "symbolic/painter"}
    roles[role] = f"{provider}/m"
    config = {
        "benchmark": {"name": "synthetic", "n_per_category": 2, "categories": ["WK"]},
        "judge": {"model": "symbolic/reasoner"},
        "systems": {
            "mine": {"ueg": "decompose-then-generate", "roles": roles},
            "builtin": {
                "ueg": "decompose-then-generate",
                "roles": {"reasoner": "symbolic/reasoner", "generator": "symbolic/painter"},
            },
        },
        "models": {f"{provider}/m": {"default": "A", "max_attempts": 3, "retry_initial_s": 0}},
    }
    results = composer.run(config, tmp_path / "run").outcomes()
    assert {o.status for o in results if o.system == "builtin"} == {"ok"}  # the run went on
    return [o for o in results if o.system == "mine"]


@pytest.mark.parametrize(
    ("provider", "role", "error"),
    [
        (
            "text-as-str",
            "reasoner",
            "text-as-str/m: its adapter (test_adapter_faults.TextAsStr) returned str 'A' from "
            "understand(), not a TextReply.",
        ),
        (
            "text-not-text",
            "reasoner",
            "text-not-text/m: its adapter (test_adapter_faults.TextNotText) returned TextReply ",
        ),
        (
            "pixels",
            "generator",
            "pixels/m: its adapter (test_adapter_faults.Pixels) returned Image <PIL.Image.Image "
            "image mode=RGB size=4x4",
        ),
        (
            "raising",
            "reasoner",
            "raising/m: its adapter (test_adapter_faults.Raising) raised KeyError: 'choices' at "
            "test_adapter_faults.py:",
        ),
    ],
)
def test_an_adapter_fault_fails_the_call_as_its_models_once(
    tmp_path: Path, provider: str, role: str, error: str
) -> None:
    mine = run(tmp_path, provider, role)
    assert [o.status for o in mine] == ["failed", "failed"]
    for outcome in mine:
        assert outcome.error.startswith(error), outcome.error
        assert "Fix the node" not in outcome.error
    if provider == "pixels":
        assert "images.put(pil_image)" in mine[0].error  # how an adapter makes an ImageRef
    assert SENT[provider] == 2  # once a call, not max_attempts = 3 times
