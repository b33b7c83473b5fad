"""The rewrite agent: understanding before generation.

It sends the benchmark's own rewrite request when the graph passes one (RealUnify's refine
template, filled in by its loader), and composer's `REWRITE_PROMPT` otherwise.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from composer.core.errors import AgentOutputError
from composer.specialists.base import Understander

REWRITE_PROMPT = (
    "Rewrite this image generation prompt so that it states explicitly everything the image "
    "must show (work out any number, fact or consequence it implies): {prompt}\n"
    "Respond only with the rewritten prompt."
)
"""composer's rewrite request, for a benchmark that words none of its own."""


class Rewrite(BaseModel):
    """A rewritten generation prompt."""

    prompt: str


_PREAMBLE = re.compile(r"^(refined prompt|prompt)\s*:\s*", re.I)


def parse_rewrite(text: str) -> Rewrite:
    """Take the refined prompt from a reply, dropping quotes and a `Refined prompt:` label."""
    cleaned = _PREAMBLE.sub("", text.strip()).strip().strip('"').strip()
    if not cleaned:
        raise AgentOutputError("rewrite", "the reply holds no prompt.", text)
    return Rewrite(prompt=cleaned)


async def rewrite(reasoner: Understander, prompt: str, *, request: str | None = None) -> Rewrite:
    """Ask `reasoner` to rewrite `prompt` (or send `request`, the benchmark's, as it is).

    Example:
        >>> reply = await rewrite(reasoner, "as many circles as a spider has")  # doctest: +SKIP
        >>> reply.prompt  # doctest: +SKIP
        'eight circles'
    """
    reply = await reasoner.understand(request or REWRITE_PROMPT.format(prompt=prompt))
    return parse_rewrite(reply.text)
