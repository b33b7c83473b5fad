"""The answer agent: the benchmark's request about some images sent, the reply kept as given.

Reading an answer out of the reply (a letter, a move list) is the scorers' work, so the agent
holds no benchmark's readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from composer.core.images import ImageRef
from composer.specialists.base import Understander


class Answer(BaseModel):
    """A reply as given."""

    text: str


async def answer(reasoner: Understander, images: Sequence[ImageRef], request: str) -> Answer:
    """Ask `reasoner` the filled `request` (the instance's, as its benchmark words it)."""
    reply = await reasoner.understand(request, images)
    return Answer(text=reply.text)
