"""The report's typed shape: what `summarize` returns and every renderer reads.

These are `TypedDict`s, so the report stays the JSON that `report --format json` prints, key for
key, while mypy checks every reader against one declaration. The leaves that belong to one
module keep their shape there: a paired test's row is `stats.PairedTest.as_dict`, a cost entry
`stats.costs`, a budget entry `budget.per_system`, the judges section `judging`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypeVar, cast

# typing_extensions' TypedDict (not typing's) so pydantic can check a report against these
# declarations on Python 3.11 (tests/report/test_model.py does).
from typing_extensions import TypedDict

from composer.core.definition import Kind, Mode
from composer.core.instance import Parser

AxisName = Literal["UEG", "GEU"]
AXES: tuple[AxisName, AxisName] = ("UEG", "GEU")
"""The two axes, in the order every table shows them."""
Scope = Literal["UEG", "GEU", "Total"]
"""Where a number is read: one axis, or Total."""


class TotalRule(TypedDict):
    """How Total is made (see `summary.total_rule`); `text` is printed under every table."""

    rule: Literal["weighted", "pooled"]
    weights: dict[str, float] | None
    source: str
    text: str


class Counts(TypedDict):
    """Instances of one axis: all, correct under the headline parser, and those not ok."""

    n: int
    correct: int
    failed: int
    refused: int
    unscored: int


class CategoryCounts(TypedDict):
    """Instances of one category, correct under each parser, and those not ok."""

    n: int
    correct_official: int
    correct_strict: int
    not_ok: int


class AxisSummary(TypedDict):
    """One system on one axis: accuracy (the mean of its categories) under both parsers."""

    accuracy: float
    """Under the headline parser; with several seeds, the mean over seeds."""
    accuracy_official: float
    accuracy_strict: float
    by_category: dict[str, float]
    """Under the headline parser; the other parser's is `by_category_<other>`."""
    by_category_strict: NotRequired[dict[str, float]]
    by_category_official: NotRequired[dict[str, float]]
    counts: Counts
    category_counts: dict[str, CategoryCounts]
    cost_usd: float | None
    latency_s: float
    by_seed: dict[str, float]
    """Run seed (as text) -> accuracy."""
    seed_sd: float | None
    """Sample standard deviation over seeds; None with one seed."""


class SystemSummary(TypedDict):
    """One system: its axes, Total, and what it is (from its stored definition)."""

    UEG: NotRequired[AxisSummary]
    GEU: NotRequired[AxisSummary]
    total: float | None
    total_by_seed: NotRequired[dict[str, float]]
    kind: Kind
    mode: Mode
    models: list[str]
    graphs: dict[str, str]
    """Axis -> graph name."""
    self_preference: NotRequired[str]
    """Why this system's judge may favour it (its model, or one of its family, is bound)."""
    tasks: NotRequired[dict[str, Any]]
    """Uni-MMMU: task -> its `summary.json` under the release's keys (headline parser)."""
    tasks_strict: NotRequired[dict[str, Any]]
    tasks_official: NotRequired[dict[str, Any]]


class Comparison(TypedDict):
    """One cross-system delta: integration gap, composition gain or oracle headroom."""

    comparison: str
    a: str
    b: str
    axis: Scope
    delta: float
    by_category: dict[str, float]


class Attribution(TypedDict):
    """An accuracy difference owed to the one role two systems bind differently."""

    axis: str
    role: str
    a: str
    b: str
    a_model: str
    b_model: str
    graph: str
    delta: float
    by_category: dict[str, float]
    p_value: float
    ci95: list[float]
    noise: str
    n: int


class ChannelsSection(TypedDict):
    """Score channels beyond the headline 0/1 (see `composer.report.channels`)."""

    kinds: dict[str, str]
    """Channel -> kind: `binary`, `fraction`, `rubric_0_5` or `distance` (lower is better)."""
    systems: dict[str, dict[str, dict[str, Any]]]
    """System -> axis -> `all` (channel -> stats) and `by_category` (category -> channel ->
    stats); stats: kind, n, and per reading its mean and unscored count."""
    paired: list[dict[str, Any]]
    """The question's pairs per channel, each row naming its test."""
    judges: NotRequired[dict[str, Any]]
    """With several judge models: `by_judge` (each one's means and paired rows of the channels
    it scores) and `notes` (the rows whose sign or significance changes with the judge)."""


class NotCounted(TypedDict):
    """Stored results left out because the benchmark no longer holds their instances."""

    instances: list[str]
    results: int
    text: str
    """The sentence every table prints under itself."""


class Report(TypedDict):
    """The whole report of one run folder under one judge and one headline parser."""

    parser: Parser
    judge: str | None
    """The headline judge's label (None when no UEG output was judged)."""
    judge_id: str | None
    total_rule: TotalRule
    seed: int
    seeds: list[int]
    systems: dict[str, SystemSummary]
    comparisons: list[Comparison]
    paired: list[dict[str, Any]]
    """`stats.PairedTest.as_dict` rows, each with a `spend` from `budget.spend`."""
    attribution: list[Attribution]
    costs: dict[str, dict[str, Any]]
    """`stats.costs`: per system, calls, time, tokens, images, cost, and the same per node."""
    budget: dict[str, dict[str, Any]]
    """`budget.per_system`: cost per instance and per correct answer."""
    pass_rates: NotRequired[dict[str, dict[str, float]]]
    reproducibility: NotRequired[dict[str, Any]]
    judges: NotRequired[dict[str, Any]]
    """With several judges: their agreement and every headline comparison under each."""
    unimmmu: NotRequired[dict[str, Any]]
    """Uni-MMMU's leaderboard columns, quoted rows and Avg rule (`composer.report.unimmmu`)."""
    selection: NotRequired[str]
    """Set when the latest run ran a selection of the benchmark (`--instances`, `limit`,
    `categories`): says so, so that instances left out read as not run, not as missing."""
    channels: NotRequired[ChannelsSection]
    """Set when some output has score channels (`composer.report.channels`)."""
    not_counted: NotRequired[NotCounted]
    """Present when the store holds results of instances the benchmark no longer holds."""


def axis_of(entry: SystemSummary, axis: str) -> AxisSummary | None:
    """The system's summary on `axis` (`UEG` or `GEU`), if it answered that axis."""
    if axis == "UEG":
        return entry.get("UEG")
    if axis == "GEU":
        return entry.get("GEU")
    return None


def other_parser(report: Report, parser: Parser | None) -> Parser | None:
    """`parser` where it is not the report's headline parser, else None (the headline numbers)."""
    return None if parser in (None, report["parser"]) else parser


def accuracy_of(summary: AxisSummary, other: Parser | None = None) -> float:
    """The axis accuracy: the headline one, or under the `other` parser."""
    if other is None:
        return summary["accuracy"]
    return summary["accuracy_official"] if other == "official" else summary["accuracy_strict"]


def categories_of(summary: AxisSummary, other: Parser | None = None) -> dict[str, float]:
    """Accuracy per category: the headline parser's, or the `other` parser's."""
    if other == "official":
        return summary.get("by_category_official", summary["by_category"])
    if other == "strict":
        return summary.get("by_category_strict", summary["by_category"])
    return summary["by_category"]


def axes_of(entry: SystemSummary) -> dict[AxisName, AxisSummary]:
    """The axes the system answered, UEG first."""
    return {a: s for a in AXES if (s := axis_of(entry, a)) is not None}


def count_cells(entry: SystemSummary) -> list[str]:
    """The n, failed (refused included) and unscored cells of a system's row."""
    counts = [s["counts"] for s in axes_of(entry).values()]
    return [
        str(sum(c["n"] for c in counts)),
        str(sum(c["failed"] + c["refused"] for c in counts)),
        str(sum(c["unscored"] for c in counts)),
    ]


_T = TypeVar("_T", AxisSummary, SystemSummary)


def in_declared_order(data: _T, declared: type[_T]) -> _T:
    """`data` with its keys in the order `declared` lists them: the JSON's stable key order."""
    return cast(_T, {key: data[key] for key in declared.__annotations__ if key in data})  # type: ignore[literal-required]
