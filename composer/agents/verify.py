"""The verify agent: yes/no questions about an image.

It serves two masters: a benchmark's judge (questions from the data, asked with the benchmark's
wording and read by its readers: RealUnify's in `composer.evaluation.judges`) and the refine
loop (questions the reasoner derives from the prompt, asked with composer's `VERIFY`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from composer.core.errors import AgentOutputError, EmptyReplyError
from composer.core.images import ImageRef
from composer.core.instance import Check
from composer.specialists.base import AsksAgainOnEmpty, Understander

DERIVE_CHECKS_PROMPT = (
    "Write verification questions for this image generation prompt: {prompt}\n"
    "List the yes/no questions that an image must pass to match the prompt exactly, one per "
    "line, each ending with the expected answer in parentheses, for example:\n"
    "Are there exactly three circles? (yes)"
)


class Verdict(BaseModel):
    """One question put to an image: the raw reply and its reading under both parsers."""

    question: str
    expected: str
    reply: str
    official: str | None
    strict: str | None

    @property
    def passed(self) -> bool:
        """Whether the official reading matches the expected answer."""
        return self.official == self.expected


VERIFY_PROMPT = (
    "Please answer the following question based on the image:\n"
    "Question: {question}\n\n"
    "You should only reply yes or no, and do not provide any other extra content."
)
"""composer's yes/no question about an image: RealUnify's judge prompt, word for word, so the
refine loop asks its reasoner as a judge would ask (a test keeps the two equal)."""

_LEADING_YES_NO = re.compile(r"^\W*(yes|no)\b")


def read_yes_no(reply: str) -> str | None:
    """A leading yes or no, or None."""
    match = _LEADING_YES_NO.match(reply.strip().lower())
    return match.group(1) if match else None


@dataclass(frozen=True)
class YesNo:
    """How yes/no questions are asked and read: a template with `{question}`, two readers."""

    template: str
    official: Callable[[str], str | None]
    strict: Callable[[str], str | None]


VERIFY = YesNo(VERIFY_PROMPT, read_yes_no, read_yes_no)
"""composer's own asking and reading, for the refine loop's checks."""


EMPTY_REPLY_RETRIES = 15
"""The released judge script asks again, up to 15 times, when the reply is empty."""


async def ask_text(
    understander: Understander, image: ImageRef, question: str, template: str = VERIFY_PROMPT
) -> str:
    """Put one yes/no question about `image`, in `template`; return the raw reply.

    The one path that asks an image a yes/no question, for judges and agents alike: an empty
    reply is asked again (up to `EMPTY_REPLY_RETRIES` times), as the released script does. A
    retry must not be answered from the call cache, so its attempt number is part of the
    request. Still empty after that: the empty text, which both readers leave unread. Only an
    empty reply is asked again: the script reads a reply of spaces as it is (neither yes nor no).
    """
    request = template.format(question=question)
    if isinstance(understander, AsksAgainOnEmpty):
        understander = understander.reporting_empty()  # this loop is the re-asking
    for attempt in range(EMPTY_REPLY_RETRIES):
        options = {"empty_reply_retry": attempt} if attempt else None
        try:
            reply = await understander.understand(request, [image], options=options)
        except EmptyReplyError:
            continue  # never cached; ask again with the next request variation
        if reply.text:
            return reply.text
    return ""


async def ask(
    understander: Understander, image: ImageRef, check: Check, reading: YesNo = VERIFY
) -> Verdict:
    """Put one yes/no check to `understander` about `image`, read by both of `reading`'s."""
    reply = await ask_text(understander, image, check.question, reading.template)
    return Verdict(
        question=check.question,
        expected=check.answer,
        reply=reply,
        official=reading.official(reply),
        strict=reading.strict(reply),
    )


def derive_request(prompt: str) -> str:
    """Fill the derive-checks prompt."""
    return DERIVE_CHECKS_PROMPT.format(prompt=prompt)


_CHECK_LINE = re.compile(r"^\s*(?:[-*\d.)]+\s*)?(.+?\?)\s*\(\s*(yes|no)\s*\)\s*$", re.I)


def parse_checks(text: str) -> tuple[Check, ...]:
    """Read `Question? (yes|no)` lines; other lines are ignored, none at all is an error."""
    checks = []
    for line in text.splitlines():
        match = _CHECK_LINE.match(line)
        if match:
            checks.append(Check(question=match.group(1).strip(), answer=match.group(2).lower()))
    if not checks:
        raise AgentOutputError("verify", "no 'Question? (yes|no)' line in the reply.", text)
    return tuple(checks)


async def derive_checks(reasoner: Understander, prompt: str) -> tuple[Check, ...]:
    """Ask `reasoner` which yes/no checks an image for `prompt` must pass."""
    reply = await reasoner.understand(derive_request(prompt))
    return parse_checks(reply.text)


async def verify(reasoner: Understander, image: ImageRef, checks: Sequence[Check]) -> list[Verdict]:
    """Put every check to `reasoner` about `image`."""
    return [await ask(reasoner, image, check) for check in checks]
