"""The revise agent: rewrite a refined prompt after its image failed verification."""

from __future__ import annotations

from collections.abc import Sequence

from composer.agents.rewrite import Rewrite, parse_rewrite
from composer.agents.verify import Verdict
from composer.specialists.base import Understander

REVISE_PROMPT = (
    "Revise a prompt for image generation.\n"
    "Original prompt: {prompt}\n"
    "Refined prompt used: {rewrite}\n"
    "The image drawn from it failed these checks:\n"
    "{failures}\n"
    "Respond only with the corrected refined prompt, without adding anything else."
)


def revise_request(prompt: str, rewrite: str, failures: Sequence[Verdict]) -> str:
    """Fill the revise prompt; each failure is listed with the expected and given answer."""
    lines = "\n".join(
        f"- {v.question} (expected {v.expected}, the image gave {v.official or 'no answer'})"
        for v in failures
    )
    return REVISE_PROMPT.format(prompt=prompt, rewrite=rewrite, failures=lines)


async def revise(
    reasoner: Understander, prompt: str, rewrite: str, failures: Sequence[Verdict]
) -> Rewrite:
    """Ask `reasoner` for a corrected rewrite given the checks the last image failed."""
    reply = await reasoner.understand(revise_request(prompt, rewrite, failures))
    return parse_rewrite(reply.text)
