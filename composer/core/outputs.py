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


def _scored(state: Mapping[str, Any], key: str, kind: type, axis: str, where: str) -> Any:
    value = state.get(key)
    if isinstance(value, kind):
        return value
    wanted = f"`{key}: {kind.__name__}`"
    if value is None:
        held = ", ".join(sorted(str(k) for k in state if k not in ("instance", "seed")))
        what = f"returned no {key!r} (its {axis} output, {wanted}); its final state holds: "
        what += f"{held or 'nothing'}."
    else:
        what = f"returned {key!r} as a {type(value).__name__}, not a {kind.__name__}."
    raise ConfigError(f"{where} ({axis})", what, f"Set {wanted} in the node that ends the graph.")


def ueg_output(state: Mapping[str, Any], *, where: str = "graph output") -> UEGOutput:
    """The scored output of a UEG graph's final state; `where` names the graph in an error.

    Raises:
        ConfigError: the state holds no `ImageRef` under `IMAGE`.
    """
    return UEGOutput(image=_scored(state, IMAGE, ImageRef, "UEG", where))


def geu_output(state: Mapping[str, Any], *, where: str = "graph output") -> GEUOutput:
    """The scored output of a GEU graph's final state; `where` names the graph in an error.

    Raises:
        ConfigError: the state holds no text under `RESPONSE`.
    """
    return GEUOutput(response=_scored(state, RESPONSE, str, "GEU", where))
