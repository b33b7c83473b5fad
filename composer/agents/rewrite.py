"""The rewrite agent: understanding before generation, through the paper's refine template.

The template is the protocol's (`composer.benchmarks.realunify.protocol`).
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from composer.benchmarks.realunify.protocol import refine_request
from composer.core.errors import AgentOutputError
from composer.specialists.base import Understander


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
    """Ask `reasoner` to refine `prompt` (or send `request`, a ready step prompt, as it is).

    Example:
        >>> reply = await rewrite(reasoner, "as many circles as a spider has")  # doctest: +SKIP
        >>> reply.prompt  # doctest: +SKIP
        'eight circles'
    """
    reply = await reasoner.understand(request or refine_request(prompt))
    return parse_rewrite(reply.text)
