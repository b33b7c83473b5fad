"""RealUnify's protocol: the paper's prompt templates and the readers of the replies.

The prompts are word for word the released ones: the UEG refine template, the GEU
multiple-choice template, the per-category GEU edit prompts and the UEG judge prompt. Each reply
kind has two readers: `official` reproduces the released scorer, behaviour for behaviour;
`strict` reads an explicit answer and leaves anything else unscored (None). The agents in
`composer.agents` send these prompts; judges, the exporter, the synthetic suite and the
symbolic models use them too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

REFINE_PROMPT = (
    "Here is the prompt for image generation: {prompt} Please refine it into a simple, direct, "
    "and unambiguous form to ensure the generated image fully aligns with the given description "
    "and conditions. Respond only with the refined prompt, without adding anything else."
)
"""RealUnify's UEG step template (the step file's `new_prompt` is this with the prompt in)."""

_REFINE_HEAD = "Here is the prompt for image generation: "
_REFINE_TAIL = " Please refine it into a simple, direct"


def refine_request(prompt: str) -> str:
    """Fill the refine template with `prompt`."""
    return REFINE_PROMPT.format(prompt=prompt)


def prompt_of_refine_request(text: str) -> str | None:
    """The original prompt inside a filled refine template, or None if `text` is not one."""
    if not text.startswith(_REFINE_HEAD) or _REFINE_TAIL not in text:
        return None
    return text[len(_REFINE_HEAD) : text.rindex(_REFINE_TAIL)]


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


JUDGE_PROMPT = (
    "Please answer the following question based on the image:\n"
    "Question: {question}\n\n"
    "You should only reply yes or no, and do not provide any other extra content."
)
"""RealUnify's UEG judge prompt, word for word; shown after the image."""


def judge_request(question: str) -> str:
    """Fill the judge prompt with one question."""
    return JUDGE_PROMPT.format(question=question)


def question_of_judge_request(text: str) -> str | None:
    """The question inside a filled judge prompt, or None if `text` is not one."""
    match = re.match(
        r"Please answer the following question based on the image:\nQuestion: (.*)\n\n", text, re.S
    )
    return match.group(1) if match else None


def parse_yes_no_official(reply: str) -> str | None:
    """RealUnify's released reader: 'yes' anywhere wins, else 'no' anywhere ('know' too)."""
    text = reply.lower()
    if "yes" in text:
        return "yes"
    if "no" in text:
        return "no"
    return None


def parse_yes_no_strict(reply: str) -> str | None:
    """A leading yes/no word, or None (unscored)."""
    match = re.match(r"^\W*(yes|no)\b", reply.strip().lower())
    return match.group(1) if match else None
