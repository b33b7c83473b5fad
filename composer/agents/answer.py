"""The answer agent: a multiple-choice request sent, the reply read by RealUnify's two readers.

The template and the readers are the protocol's (`composer.benchmarks.realunify.protocol`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from composer.benchmarks.realunify.protocol import parse_choice_official, parse_choice_strict
from composer.core.images import ImageRef
from composer.specialists.base import Understander


class Answer(BaseModel):
    """A multiple-choice reply as given, plus its reading under both parsers."""

    text: str
    official: str | None
    strict: str | None


async def answer(reasoner: Understander, images: Sequence[ImageRef], request: str) -> Answer:
    """Ask `reasoner` the filled multiple-choice `request` about `images` and parse the reply."""
    reply = await reasoner.understand(request, images)
    return Answer(
        text=reply.text,
        official=parse_choice_official(reply.text),
        strict=parse_choice_strict(reply.text),
    )
