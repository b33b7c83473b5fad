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


def choice_request(question: str, options: Sequence[str]) -> str:
    """Fill the multiple-choice template; `options` are the texts without letters."""
    lines = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))
    return MULTIPLE_CHOICE_PROMPT.format(question=question, options=lines)


def edit_request(category: str, question: str) -> str:
    """The per-category edit prompt for a GEU instance."""
    return EDIT_PROMPTS[category].format(question=question)


class Answer(BaseModel):
    """A multiple-choice reply as given, plus its reading under both parsers."""

    text: str
    official: str | None
    strict: str | None


_STOCK_PREFIXES = (
    "the best answer is",
    "the correct answer is",
    "the answer is",
    "the answer",
    "best answer:",
    "best option:",
    "answer:",
    "option:",
)


def parse_choice_official(reply: str) -> str | None:
    """RealUnify's released reader: the first capital A-D anywhere, after stock prefixes.

    A reply of more than 10 words with no A-D reads as empty (None), as released.
    """
    text = reply.strip()
    for prefix in _STOCK_PREFIXES:
        if text.lower().startswith(prefix):
            text = text[len(prefix) :].strip()
    if len(text.split()) > 10 and not re.search(r"[ABCD]", text):
        return None
    match = re.search(r"[ABCD]", text)
    return match.group(0) if match else None


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
