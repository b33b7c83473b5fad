"""The output contract: what a graph's final state holds that composer reads, declared once.

Per axis, a graph returns what that axis is scored on (`UEGOutput`, `GEUOutput`;
`build_strategy` checks every graph against them). A stepwise graph also returns the step the
report shows and the RealUnify export writes (`UEGStepOutput`: the rewritten prompt it drew;
`GEUStepOutput`: the edited image it answered from); imported outputs fill in the same keys.
The key names (`IMAGE`, `RESPONSE`, `REWRITE`, `EDITED_IMAGE`) are read off these declarations,
so a writer or reader of a state or a stored output names a key by constant, never by string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypedDict

from composer.core.errors import ConfigError
from composer.core.images import ImageRef


class UEGOutput(TypedDict):
    """What a UEG graph returns: the image the judge scores."""

    image: ImageRef


class GEUOutput(TypedDict):
    """What a GEU graph returns: the reply its answer letter is read from."""

    response: str


class UEGStepOutput(TypedDict, total=False):
    """What a stepwise UEG graph may also return: the rewritten prompt it drew."""

    rewrite: str


class GEUStepOutput(TypedDict, total=False):
    """What a stepwise GEU graph may also return: the edited image it answered from."""

    edited_image: ImageRef


def _key(declared: type) -> str:
    """The one key `declared` (a one-field TypedDict) has."""
    (key,) = declared.__annotations__
    return key


IMAGE: Final = _key(UEGOutput)
"""The key of a UEG graph's scored image (an `ImageRef`; its uri in a stored output)."""
RESPONSE: Final = _key(GEUOutput)
"""The key of a GEU graph's scored reply text."""
REWRITE: Final = _key(UEGStepOutput)
"""The key of a stepwise UEG graph's rewritten prompt."""
EDITED_IMAGE: Final = _key(GEUStepOutput)
"""The key of a stepwise GEU graph's edited image (an `ImageRef`; its uri once stored)."""


def _scored(state: Mapping[str, Any], key: str, kind: type, axis: str) -> Any:
    value = state.get(key)
    if not isinstance(value, kind):
        raise ConfigError(
            "graph output",
            f"has no {key!r} for a {axis} instance.",
            f"A {axis} graph must set state[{key!r}].",
        )
    return value


def ueg_output(state: Mapping[str, Any]) -> UEGOutput:
    """The scored output of a UEG graph's final state.

    Raises:
        ConfigError: the state holds no `ImageRef` under `IMAGE`.
    """
    return UEGOutput(image=_scored(state, IMAGE, ImageRef, "UEG"))


def geu_output(state: Mapping[str, Any]) -> GEUOutput:
    """The scored output of a GEU graph's final state.

    Raises:
        ConfigError: the state holds no text under `RESPONSE`.
    """
    return GEUOutput(response=_scored(state, RESPONSE, str, "GEU"))
