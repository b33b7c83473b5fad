"""Scoring: the UEG polling judge and the GEU choice scorer, each under both parsers.

`official` reproduces the released RealUnify scorer; `strict` reads the answer properly and
leaves what it cannot read unscored. Both are stored for every instance, with every raw judge
reply, so a different parser can re-score a run without new calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel

from composer.agents.answer import parse_choice_official, parse_choice_strict
from composer.agents.verify import judge_request, parse_yes_no_official, parse_yes_no_strict
from composer.core.images import ImageRef
from composer.core.instance import Check
from composer.evaluation.store import Judgment
from composer.specialists.base import Understander

EMPTY_REPLY_RETRIES = 15
"""The released script asks again, up to 15 times, when the judge's reply is empty."""


class Score(BaseModel):
    """Correctness under both parsers (None: unscored) and the judgments behind it."""

    official: bool | None
    strict: bool | None
    judgments: list[Judgment] = []


def combine_strict(readings: Sequence[str | None], expected: Sequence[str]) -> bool | None:
    """All-must-match under the strict parser: a mismatch is wrong, else any unread is None."""
    if any(r is not None and r != e for r, e in zip(readings, expected, strict=True)):
        return False
    if any(r is None for r in readings):
        return None
    return True


async def _ask(judge: Understander, image: ImageRef, question: str) -> str:
    request = judge_request(question)
    for attempt in range(EMPTY_REPLY_RETRIES):
        # A retry must not be answered from the cache, so the attempt is part of the request.
        options = {"empty_reply_retry": attempt} if attempt else None
        reply = await judge.understand(request, [image], options=options)
        if reply.text.strip():
            return reply.text
    return ""


async def judge_ueg(judge: Understander, image: ImageRef, checks: Sequence[Check]) -> Score:
    """Ask every check about `image`; correct only if every reading matches its answer."""
    replies = await asyncio.gather(*(_ask(judge, image, c.question) for c in checks))
    judgments = [
        Judgment(
            position=i,
            question=check.question,
            expected=check.answer,
            reply=reply,
            official=parse_yes_no_official(reply),
            strict=parse_yes_no_strict(reply),
        )
        for i, (check, reply) in enumerate(zip(checks, replies, strict=True))
    ]
    official = all(j.official == j.expected for j in judgments)
    strict = combine_strict([j.strict for j in judgments], [j.expected for j in judgments])
    return Score(official=official, strict=strict, judgments=judgments)


def score_geu(response: str, answer: str) -> Score:
    """Compare a multiple-choice reply with the answer letter under both parsers."""
    official = parse_choice_official(response)
    strict = parse_choice_strict(response)
    return Score(official=official == answer, strict=None if strict is None else strict == answer)
