"""The rewrite agent: the paper's refine template, understanding before generation."""

from __future__ import annotations

import re

from pydantic import BaseModel

from composer.core.errors import AgentOutputError
from composer.specialists.base import Understander

REFINE_PROMPT = (
    "Here is the prompt for image generation: {prompt} Please refine it into a simple, direct, "
    "and unambiguous form to ensure the generated image fully aligns with the given description "
    "and conditions. Respond only with the refined prompt, without adding anything else."
)
"""RealUnify's UEG step template (the step file's `new_prompt` is this with the prompt in)."""

_REFINE_HEAD = "Here is the prompt for image generation: "
_REFINE_TAIL = " Please refine it into a simple, direct"


class Rewrite(BaseModel):
    """A rewritten generation prompt."""

    prompt: str


def refine_request(prompt: str) -> str:
    """Fill the refine template with `prompt`."""
    return REFINE_PROMPT.format(prompt=prompt)


def prompt_of_refine_request(text: str) -> str | None:
    """The original prompt inside a filled refine template, or None if `text` is not one."""
    if not text.startswith(_REFINE_HEAD) or _REFINE_TAIL not in text:
        return None
    return text[len(_REFINE_HEAD) : text.rindex(_REFINE_TAIL)]


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
