"""majority-of-checks: an image is correct when most of its checks pass (RealUnify needs all)."""

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from composer.agents.verify import ask
from composer.core.images import ImageRef
from composer.core.instance import Check
from composer.evaluation.judges import Score, score_verdicts
from composer.specialists.base import Understander


async def majority(
    model: Understander, image: ImageRef, checks: Sequence[Check], options: Mapping[str, Any]
) -> Score:
    """Ask every check; correct when more than half match, under each parser."""
    verdicts = await asyncio.gather(*(ask(model, image, check) for check in checks))
    judged = score_verdicts(verdicts).judgments
    half = len(judged) / 2
    official = sum(j.official == j.expected for j in judged) > half
    matched = sum(j.strict == j.expected for j in judged)
    unread = sum(j.strict is None for j in judged)
    # Strict leaves unscored what the unread answers could still decide either way.
    strict = True if matched > half else None if matched + unread > half else False
    return Score(official=official, strict=strict, judgments=judged)
