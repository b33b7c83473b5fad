"""A judging method of your own, from a file: majority of three readings per question.

A judging method is one async function `(model, image, checks, options) -> Score`. Name it in
the run file as `[judge] method = "custom_judge.py:judge"` (or in `extra`, next to the paper's
judge, to see how far the two agree). Its identity in the store includes this file's hash:
edit the file and rerun, and the stored outputs are judged again with the new method.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from composer.agents.verify import Verdict, ask_text
from composer.benchmarks.realunify.protocol import parse_yes_no_official, parse_yes_no_strict
from composer.core.images import ImageRef
from composer.core.instance import Check
from composer.evaluation.judges import Score, score_verdicts
from composer.specialists.base import Understander


async def judge(
    model: Understander, image: ImageRef, checks: Sequence[Check], options: Mapping[str, Any]
) -> Score:
    """Ask each check `votes` times (a varied question, so no cached reply is reused)."""
    votes = int(options.get("votes", 3))
    verdicts = []
    for check in checks:
        replies = [await ask_text(model, image, check.question + " " * k) for k in range(votes)]
        reply = Counter(replies).most_common(1)[0][0]
        verdicts.append(
            Verdict(
                question=check.question,
                expected=check.answer,
                reply=reply,
                official=parse_yes_no_official(reply),
                strict=parse_yes_no_strict(reply),
            )
        )
    return score_verdicts(verdicts)
