"""The run store's rows as Python: the models of results, scores, judgments and calls.

`RunStore` (`composer.evaluation.store`) reads them from a run folder and `RunWriter`
(`composer.evaluation.store_writer`) writes them; the decoders here turn a stored row into its
model.
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from composer.benchmarks.realunify.records import read_stored
from composer.core.failure import Failure

Status = Literal["ok", "failed", "refused", "unscored"]
STATUSES = frozenset(get_args(Status))
"""Every status a stored result may have; a row with another is damaged."""
SCORE_STATUSES = frozenset({"ok", "failed", "refused"})
"""Every status a stored score may have."""
REMOVED_KEY = "removed_instances"
"""The `meta` row listing stored instances the benchmark no longer holds (not counted)."""


class Result(BaseModel):
    """The outcome of one system on one instance."""

    system: str
    instance: str
    axis: str
    category: str
    status: Status
    seed: int = 0
    """The run seed this output was made under (one of the run file's `seeds`)."""
    output: dict[str, Any] = Field(default_factory=dict)
    correct_official: bool | None = None
    correct_strict: bool | None = None
    error: str | None = None
    failure: Failure | None = None
    """Where a graph failed (graph, node, line, traceback), when its own code failed it."""
    latency_s: float = 0.0
    """Wall time of the task that produced the output, as this run saw it (replays are fast)."""
    cost_usd: float | None = None
    """What the output's model calls cost, sent or replayed: the cost if run alone."""
    usage: dict[str, Any] = Field(default_factory=dict)
    """The task's model calls: counts, sent and replayed, cost if alone and spent, model time,
    tokens and images, and the same per graph node (see `composer.core.callsite.Tally`)."""
    judge: str | None = None
    """Who scored it: the UEG judge's label, or the GEU choice reader."""


class Scored(BaseModel):
    """One judge's score of one stored output."""

    judge: str
    """The judge's id (see `composer.evaluation.judges.Judge.id`)."""
    status: Literal["ok", "failed", "refused"]
    """`refused`: the judge declined to judge (a content-policy refusal), not a failure."""
    correct_official: bool | None = None
    correct_strict: bool | None = None
    error: str | None = None
    usage: dict[str, Any] = Field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Named values beyond the headline correctness: channel -> {kind, official, strict[, note]}
    (a Uni-MMMU scorer's frame accuracy, distances, rubric scores)."""


class Judgment(BaseModel):
    """One judge question put about one output, with the raw reply and both readings."""

    position: int
    question: str
    expected: str
    reply: str
    official: str | None
    strict: str | None


class Call(BaseModel):
    """One recorded model call: what was asked (`request`, a summary) and what came back."""

    key: str
    model: str
    method: str
    request: dict[str, Any]
    reply: dict[str, Any]
    latency_s: float | None = None
    cost_usd: float | None = None
    system: str = ""
    instance: str = ""
    node: str = ""
    """The node of the task that first sent it (a replay by another task is in its steps)."""
    sent: int = 1
    attempts: int | None = None


CALL_COLUMNS = (
    "key, model, method, request, reply, latency_s, cost_usd, system, instance, node, sent, "
    "attempts"
)
"""The columns of the calls table that make a `Call`, in the order `decode_call` reads them."""


_CALL_NAMES = tuple(n.strip() for n in CALL_COLUMNS.split(","))


def decode_call(row: tuple[Any, ...]) -> Call:
    """A calls row of the columns `CALL_COLUMNS` as a `Call`."""
    data = dict(zip(_CALL_NAMES, row, strict=True))
    data["request"] = json.loads(data["request"] or "{}")
    data["reply"] = json.loads(data["reply"] or "{}")
    return Call.model_validate({k: v for k, v in data.items() if v is not None})


def record_content(record: str) -> dict[str, Any]:
    """An instance record without where it was loaded from (a moved dataset is the same).

    A record of the flat shape older run folders hold is read as the instance it describes,
    so a folder written before instances were benchmark-neutral resumes unchanged.
    """
    data = read_stored(json.loads(record)).model_dump(mode="json")
    data.pop("source", None)
    return data


def decode_failure(row: tuple[Any, ...]) -> Failure | None:
    """A results row's failure; a folder from before failures were stored has none."""
    text = row[11] if len(row) > 11 else None
    return Failure.model_validate_json(text) if text else None


def decode_bool(value: int | None) -> bool | None:
    """A stored 0/1 (or NULL) as a bool (or None)."""
    return None if value is None else bool(value)
