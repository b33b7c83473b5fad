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


_OPEN, _CLOSE = r"[*_`\"'“‘(\[]*", r"[*_`\"'”’)\]]*"
"""What may wrap a letter: emphasis, code, quotes, parentheses, brackets (`**C**`, `(B)`)."""
_LETTER = rf"{_OPEN}\s*(?P<letter>[ABCD]){_CLOSE}(?![A-Za-z0-9]|['’][a-z]|-[A-Za-z])"
"""A capital A-D standing alone: not in a word, a possessive (`A's`) or a compound (`C-shaped`).
Only capitals: a lowercase "a" is the article ("the answer is a clear D")."""
_WHOLE = re.compile(r"[\W_]*(?P<letter>[ABCD])[\W_]*")
_STATEMENT = re.compile(
    r"(?i:\b(?:answer|option|choice)\b)\s*"
    r"(?:(?i:is|was|(?:would|should|must|will)\s+be)\b\s*[:=\-]?|[:=\-])\s*"
    r"(?:(?i:option|choice|letter)\s+)?" + _LETTER
)
"""An explicit answer: "answer is X", "Answer: X", "the best option would be (X)"; a mention
without "is" or ":" ("option B is wrong") is not one."""
_ALTERNATIVE = re.compile(
    r"\s*(?:,\s*)?(?:/|&|,|(?i:\bor\b|\band\b))\s*(?:(?i:maybe|perhaps|possibly|probably)\s+)?"
    r"(?:(?i:option|choice)\s+)?" + _LETTER
)
_TOKEN = re.compile(r"(?<![A-Za-z0-9])" + _LETTER)
_NEGATED = re.compile(
    r"(?i:\b(?:not|never|no|nor|neither|except|excluding|than|isn't|aren't|wasn't|can't|"
    r"cannot)\s+(?:(?:option|choice|answer)\s+)?)$"
)
_RULED_OUT = re.compile(
    r"\s*(?i:is\s+(?:not|wrong|incorrect|false)\b|isn't\b|(?:can|could)\s*not\s+be\b|"
    r"can't\s+be\b|is\s+ruled\s+out\b)"
)
"""What after a letter rules it out: "C is not it", "B is wrong", "D can't be"."""
_LETTER_VERBS = frozenset(
    "is was seems looks appears matches fits would should must could might or and nor".split()
)
"""Words after which a capital A is the letter ("A is correct", "A or B"), not the article."""


def _statements(text: str) -> list[tuple[str, bool]]:
    """Each explicit "answer is X" / "Answer: X": (letter, names an alternative after it)."""
    found = []
    for match in _STATEMENT.finditer(text):
        alternative = _ALTERNATIVE.match(text, match.end()) is not None
        found.append((match.group("letter"), alternative))
    return found


def _lone_letters(text: str) -> set[str]:
    """The capital letters the reply gives, less the article "A" and letters it rules out.

    Ruled out: preceded by a negation ("not A", "rather than B") or followed by one ("C is
    wrong").
    """
    letters = set()
    for match in _TOKEN.finditer(text):
        letter = match.group("letter")
        if _NEGATED.search(text[max(0, match.start() - 40) : match.start()]):
            continue  # "not A", "rather than B", "neither C nor D"
        if _RULED_OUT.match(text, match.end()):
            continue  # "C is not it", "B is wrong"
        after = re.match(r"\s+([a-z]+)", text[match.end() :])
        if letter == "A" and after and after.group(1) not in _LETTER_VERBS:
            continue  # "A red circle ...": the article
        letters.add(letter)
    return letters


def parse_choice_strict(reply: str) -> str | None:
    """The letter the reply gives as its answer, and nothing else (None: unscored).

    Read in this order: the whole reply as one capital letter (`C`, `(B)`, `**D**.`); else the
    last explicit statement, "answer is X", "Answer: X", "the best option is (X)" (unscored
    if it names an alternative: "The answer is A or B"); else a single capital letter standing
    alone in the reply, not counting the article "A" ("A red circle, so D" reads D) or a letter
    the reply rules out ("not A, it is D" reads D). A lowercase letter is never a choice ("the
    answer is a clear D" reads D); several letters are unscored ("A or B").

    Example:
        >>> parse_choice_strict("The answer is a clear D"), parse_choice_strict("A or B")
        ('D', None)
    """
    text = reply.strip()
    whole = _WHOLE.fullmatch(text)
    if whole:
        return whole.group("letter")
    statements = _statements(text)
    if statements:
        letter, alternative = statements[-1]
        return None if alternative else letter
    letters = _lone_letters(text)
    return letters.pop() if len(letters) == 1 else None


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
