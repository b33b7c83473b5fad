"""The answer agent: RealUnify's multiple-choice template and its two reply parsers."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

from composer.core.images import ImageRef
from composer.specialists.base import Understander

MULTIPLE_CHOICE_PROMPT = (
    "Select the best answer to the following multiple-option question based on the image. "
    "Respond with only the letter (A, B, C, or D) of the correct option.\n"
    "Question: {question}\n"
    "Option:\n"
    "{options}\n"
    "The best answer is:"
)
"""RealUnify's GEU template; `evaluation_prompt` in the data is this, filled in."""

LETTERS = "ABCD"

EDIT_PROMPTS: dict[str, str] = {
    "mental_reconstruction": (
        "Please restore the image that has been shuffled by patches, without adding extra "
        "content or altering the original image."
    ),
    "mental_tracking": (
        "Here is the question: {question} Please apply the corresponding transformations and "
        "modifications to the contents of the image according to the question."
    ),
    "attentional_focusing": (
        "Here is the question: {question} Please highlight the regions of the image that are "
        "relevant to the question."
    ),
    "cognitive_navigation": (
        "Here is the question: {question} Please mark the path(s) in the image that are "
        "relevant to the question."
    ),
}
"""RealUnify's per-category GEU step edit prompts."""

GENERIC_EDIT_PROMPT = (
    "Here is the question: {question} Please edit the image so that the information needed to "
    "answer the question is easy to see, without changing anything else."
)
"""composer's edit prompt for a GEU category RealUnify has none for (a JSONL suite's own
categories); an instance's `edit_prompt` takes precedence over it."""


def choice_request(question: str, options: Sequence[str]) -> str:
    """Fill the multiple-choice template; `options` are the texts without letters."""
    lines = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))
    return MULTIPLE_CHOICE_PROMPT.format(question=question, options=lines)


def edit_request(category: str, question: str) -> str:
    """The category's edit prompt for a GEU instance (`GENERIC_EDIT_PROMPT` for others).

    Example:
        >>> edit_request("geometry", "What is the angle?")[:40]
        'Here is the question: What is the angle?'
    """
    return EDIT_PROMPTS.get(category, GENERIC_EDIT_PROMPT).format(question=question)


class Answer(BaseModel):
    """A multiple-choice reply as given, plus its reading under both parsers."""

    text: str
    official: str | None
    strict: str | None


RELEASED_PREFIXES = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option is",
    "The correct option is",
    "Best answer:",
    "Best option:",
    "Answer",
    "Answer is",
)
"""The stock phrases the released GEU scorer deletes, in its order (eval_understanding.py)."""

_CAPITAL_CHOICE = re.compile(r"[ABCD]")


def parse_choice_official(reply: object) -> str | None:
    """RealUnify's released GEU reader (`extract_characters_regex`), behaviour for behaviour.

    Each phrase of `RELEASED_PREFIXES` is deleted wherever it occurs, case-sensitively, one
    phrase after another in that order (so "Answer is" is found only where deleting "Answer"
    made one).
    What remains reads as its first capital A, B, C or D anywhere, or None where it has none
    (the release's empty string, which matches no answer letter). A reply given as a list is
    read from its first element, as the release reads a listed `response`; anything that is
    not text reads as None, where the release would stop scoring the whole file.

    Example:
        >>> parse_choice_official("Final Answer: C"), parse_choice_official("Based on it, D")
        ('C', 'B')
    """
    if isinstance(reply, list | tuple):
        reply = reply[0] if reply else None
    if not isinstance(reply, str):
        return None
    text = reply.strip()
    for phrase in RELEASED_PREFIXES:
        text = text.replace(phrase, "")
    found = _CAPITAL_CHOICE.search(text)
    # The release's rule that more than 10 words without a capital A-D read as empty; such a
    # reply holds no letter to find either, so the rule decides nothing on its own.
    if len(text.split()) > 10 and found is None:
        return None
    return found.group(0) if found else None


_LONE = re.compile(r"^\(?([ABCD])\)?[.):]?$")
_FINAL = re.compile(r"(?:answer|option)\s*(?:is)?\s*[:\-]?\s*\(?([ABCD])\)?(?![A-Za-z])", re.I)
_TOKEN = re.compile(r"(?<![A-Za-z])\(?([ABCD])\)?(?![A-Za-z'])")


def parse_choice_strict(reply: str) -> str | None:
    """Read an explicit letter: the whole reply, a last 'answer is X', or one lone letter.

    Returns None (unscored) when the reply names no letter or several competing ones.
    """
    text = reply.strip().rstrip(".").strip()
    lone = _LONE.match(text)
    if lone:
        return lone.group(1)
    finals = _FINAL.findall(text)
    if finals:
        return str(finals[-1]).upper()
    tokens = {m.group(1) for m in _TOKEN.finditer(text)}
    if len(tokens) == 1:
        return tokens.pop()
    return None


async def answer(reasoner: Understander, images: Sequence[ImageRef], request: str) -> Answer:
    """Ask `reasoner` the filled multiple-choice `request` about `images` and parse the reply."""
    reply = await reasoner.understand(request, images)
    return Answer(
        text=reply.text,
        official=parse_choice_official(reply.text),
        strict=parse_choice_strict(reply.text),
    )
