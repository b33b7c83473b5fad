"""Judging: a registry of judging methods, the judges a run names, and the GEU choice scorer.

A judge is a model plus a judging method (how the model is asked and how its replies become a
score). Its identity, `Judge.definition()`, holds the model, its options, the method, the
method's version (a hash of its prompt and readers, or of a user file) and the method's
options; a judgment is stored under that identity, so a changed judge re-judges and never
relabels another judge's numbers.

`official` reproduces the released RealUnify scorer; `strict` reads the answer properly and
leaves what it cannot read unscored. Both are stored for every instance, with every raw judge
reply, so a different parser re-scores a run without new calls.

A new judging method is one async function, registered by name or named in the run file as
`[judge] method = "my_judge.py:judge"`:

    async def judge(model, image, checks, options):
        verdicts = [await ask(model, image, check) for check in checks]
        return score_verdicts(verdicts)
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from composer.agents import verify as verify_module
from composer.agents.verify import EMPTY_REPLY_RETRIES, Verdict, YesNo, ask
from composer.benchmarks.realunify import protocol as protocol_module
from composer.benchmarks.realunify.protocol import (
    JUDGE_PROMPT,
    parse_choice_official,
    parse_choice_strict,
    parse_yes_no_official,
    parse_yes_no_strict,
)
from composer.core.errors import ConfigError
from composer.core.images import ImageRef
from composer.core.instance import Check
from composer.core.registry import Registry
from composer.evaluation.store import Judgment
from composer.specialists.base import Understander

__all__ = [
    "EMPTY_REPLY_RETRIES",
    "GEU_SCORER",
    "Judge",
    "JudgeMethod",
    "Score",
    "combine_strict",
    "get_method",
    "judge_ueg",
    "register_judge",
    "score_geu",
    "score_verdicts",
]


class Score(BaseModel):
    """Correctness under both parsers (None: unscored) and the judgments behind it."""

    official: bool | None
    strict: bool | None
    judgments: list[Judgment] = []


JudgeMethod = Callable[
    [Understander, ImageRef, Sequence[Check], Mapping[str, Any]], Awaitable[Score]
]
"""A judging method: ask `model` about `image` for the instance's `checks`; return a Score."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n\0".join(parts).encode()).hexdigest()[:16]


def code_version(*modules: Any) -> str:
    """A scoring method's version: a short hash of its modules' source (a change re-scores)."""
    return _digest(*(inspect.getsource(m) for m in modules))


def definition_key(definition: Mapping[str, Any]) -> str:
    """A short, stable key of a scorer's definition: its scores' identity in the store."""
    text = json.dumps(definition, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MethodEntry:
    """A registered judging method and the version its judgments are stored under."""

    name: str
    fn: JudgeMethod
    version: str


METHODS: Registry[JudgeMethod] = Registry(
    "judge",
    group="composer.scorers",
    where="[judge] method {!r}",
    define="async def judge(model, image, checks, options) -> Score",
    hint="path/to/judge.py:function",
    builtins={"realunify-polling": "composer.evaluation.judges:realunify_polling"},
)
"""The judging methods: composer's, a package's (entry points in `composer.scorers`), files."""

_VERSIONS: dict[JudgeMethod, str] = {}
"""The versions `register_judge` was given; any other method is versioned by its code digest."""


def register_judge(
    name: str, *, version: str | None = None
) -> Callable[[JudgeMethod], JudgeMethod]:
    """Register a judging method under a snake- or kebab-case name.

    `version` changes whenever the method would judge differently (default: the registry's
    code digest, a hash of the function's source and of what it uses from its module).

    Example:
        >>> @register_judge("majority-of-three")
        ... async def majority(model, image, checks, options):
        ...     ...
    """

    def decorate(fn: JudgeMethod) -> JudgeMethod:
        if version is not None:
            _VERSIONS[fn] = version
        METHODS.register(name, fn)
        return fn

    return decorate


def combine_strict(readings: Sequence[str | None], expected: Sequence[str]) -> bool | None:
    """All-must-match under the strict parser: a mismatch is wrong, else any unread is None."""
    if any(r is not None and r != e for r, e in zip(readings, expected, strict=True)):
        return False
    if any(r is None for r in readings):
        return None
    return True


def score_verdicts(verdicts: Sequence[Verdict]) -> Score:
    """RealUnify's all-or-nothing rule over answered checks, under both parsers."""
    judgments = [
        Judgment(
            position=i,
            question=v.question,
            expected=v.expected,
            reply=v.reply,
            official=v.official,
            strict=v.strict,
        )
        for i, v in enumerate(verdicts)
    ]
    official = all(j.official == j.expected for j in judgments)
    strict = combine_strict([j.strict for j in judgments], [j.expected for j in judgments])
    return Score(official=official, strict=strict, judgments=judgments)


# The released method's version: the judge prompt word for word, the readers' code (the whole
# protocol module, so a helper the readers use counts too) and the asking (the verify agent's
# module). A change re-judges stored outputs; unchanged judge calls replay from the call cache,
# so that costs nothing but time.
_POLLING_VERSION = _digest(
    "realunify-v1",
    JUDGE_PROMPT,
    str(EMPTY_REPLY_RETRIES),
    inspect.getsource(protocol_module),
    inspect.getsource(verify_module),
)


REALUNIFY_YES_NO = YesNo(JUDGE_PROMPT, parse_yes_no_official, parse_yes_no_strict)
"""RealUnify's judge: its prompt, its released reader (`official`) and composer's strict one."""


@register_judge("realunify-polling", version=_POLLING_VERSION)
async def realunify_polling(
    model: Understander, image: ImageRef, checks: Sequence[Check], options: Mapping[str, Any]
) -> Score:
    """RealUnify's UEG judge: every check asked with the paper's prompt; all must match."""
    verdicts = await asyncio.gather(
        *(ask(model, image, check, REALUNIFY_YES_NO) for check in checks)
    )
    return score_verdicts(verdicts)


def get_method(name: str, *, base_dir: Path | None = None) -> MethodEntry:
    """The judging method registered as `name`, or loaded from `path/to/judge.py:function`."""
    found = METHODS.resolve(name, base_dir=base_dir)
    return MethodEntry(name, found.value, _VERSIONS.get(found.value, found.code))


@dataclass(frozen=True)
class Judge:
    """One UEG judge of a run: its model, method and options, and its stored identity."""

    model: str
    method: MethodEntry
    options: Mapping[str, Any] = field(default_factory=dict)
    model_options: Mapping[str, Any] = field(default_factory=dict)
    """The model's adapter options from `[models."..."]` (they change what it answers)."""

    def definition(self) -> dict[str, Any]:
        """What makes this judge what it is; stored once per judge in the run store."""
        return {
            "model": self.model,
            "model_options": dict(self.model_options),
            "method": self.method.name,
            "method_version": self.method.version,
            "options": dict(self.options),
        }

    @functools.cached_property
    def id(self) -> str:
        """A short, stable key of `definition()`: the judgments' identity in the store.

        Computed once per judge (it was a JSON encoding and a hash per scored output).
        """
        return definition_key(self.definition())

    @property
    def label(self) -> str:
        """How reports name it: the model, and the method when it is not the paper's."""
        if self.method.name == "realunify-polling":
            return self.model
        return f"{self.model} ({self.method.name})"

    async def judge(self, model: Understander, image: ImageRef, checks: Sequence[Check]) -> Score:
        """Judge one output with `model` (the judge's model seen through the call layer)."""
        score = await self.method.fn(model, image, checks, self.options)
        if not isinstance(score, Score):
            raise ConfigError(
                f"[judge] method {self.method.name!r}",
                f"returned {type(score).__name__}, not a Score.",
                "Return composer.evaluation.judges.Score (see score_verdicts).",
            )
        if checks and not score.judgments and (score.official or score.strict):
            # all([]) is True: a method that asked nothing (a loop over the wrong list) would
            # read every output as correct, with no reply on record to show for it.
            raise ConfigError(
                f"[judge] method {self.method.name!r}",
                f"returned a correct Score with no judgments for {len(checks)} check(s): it "
                "recorded no question asked, so every output would read correct unseen.",
                "Return the verdicts the judge gave (score_verdicts(verdicts)), one at least.",
            )
        return score


async def judge_ueg(judge: Understander, image: ImageRef, checks: Sequence[Check]) -> Score:
    """Ask every check about `image` with the paper's method; correct only if all match."""
    return await realunify_polling(judge, image, checks, {})


GEU_SCORER: dict[str, Any] = {
    "model": None,
    "method": "choice-reader",
    # The choice readers' code: the whole protocol module, as for the polling judge.
    "method_version": _digest(inspect.getsource(protocol_module)),
    "options": {},
}
"""The GEU scorer's identity: exact match of the letter each reader takes from the reply."""
GEU_SCORER_ID = "choice-reader-" + str(GEU_SCORER["method_version"])
GEU_SCORER_LABEL = "exact match (choice reader)"


def score_geu(response: str | Sequence[Any], answer: str) -> Score:
    """Compare a multiple-choice reply with the answer letter under both parsers."""
    official = parse_choice_official(response)
    strict_input = response if isinstance(response, str) else ""
    strict = parse_choice_strict(strict_input)
    return Score(official=official == answer, strict=None if strict is None else strict == answer)
