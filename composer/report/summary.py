"""Accuracy per system, axis and category, under both parsers, and the cross-system deltas.

Category accuracy is correct / instances of that category the system ran (a failed, refused
or unscored instance counts in the denominator and is shown in `counts`); an axis is the mean
of its categories. Total follows the run's rule (`total_rule`): RealUnify's 0.6 UEG + 0.4 GEU
for `realunify` and the `synthetic` suite that mirrors it, the weights of `[benchmark]
total_weights` when set, else correct / instances. The summary also holds the paired tests,
stage attribution and costs of `composer.report.stats`.

With several run seeds, each number is over every seed's results (an axis: the mean over seeds
of its accuracy), and each axis also gives `by_seed` (seed -> accuracy) and `seed_sd` (their
sample standard deviation, None with one seed); `pass_rates` holds each instance's pass rate
over seeds. Paired comparisons then carry the seed (and judge) noise: `composer.report.noise`.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from composer.benchmarks.catalog import GEU_CATEGORIES, UEG_CATEGORIES
from composer.core.definition import SystemDefinition
from composer.core.fork import beside
from composer.core.instance import Instance, Parser
from composer.evaluation.store import Result, RunStore
from composer.report import budget, channels, judging, noise, stats
from composer.report.model import (
    AXES,
    AxisSummary,
    CategoryCounts,
    Comparison,
    Counts,
    Report,
    Scope,
    SystemSummary,
    TotalRule,
    axis_of,
    in_declared_order,
)

JudgeParts = tuple[dict[str, Report], list[dict[str, Any]]]
"""Each judge's own summary by label, and the judges' agreement (`judging.agreement`)."""

AXIS_WEIGHT = {"UEG": 0.6, "GEU": 0.4}
"""RealUnify's Total: 600 UEG and 400 GEU instances, so Total = correct / 1,000."""
PAPER_WEIGHTED = ("realunify", "synthetic")
"""Benchmarks whose Total is RealUnify's rule by default (the synthetic suite mirrors its
10 categories of equal size, 6 UEG and 4 GEU)."""
_ORDER = {c: i for i, c in enumerate(UEG_CATEGORIES + GEU_CATEGORIES)}
BESIDE_FROM = 500
"""Results from which the bootstraps go to a forked child (0.7 of 2.2 s at 60,000 results)."""


def _percent(correct: int, n: int) -> float:
    return 100.0 * correct / n if n else 0.0


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def total_rule(benchmark: Mapping[str, Any] | None) -> TotalRule:
    """How Total is made for a run whose `[benchmark]` table is `benchmark` (as stored).

    Returns `{"rule": "weighted" | "pooled", "weights": {...} | None, "source": ..., "text": ...}`;
    `text` is the sentence every table prints under itself.

    Example:
        >>> total_rule({"name": "jsonl"})["text"]
        'Total = correct / instances, over both axes (not RealUnify, so not 0.6 UEG + 0.4 GEU).'
    """
    bench = benchmark or {}
    weights = bench.get("total_weights")
    name = str(bench.get("name", "realunify"))
    if weights:
        source = "set by [benchmark] total_weights"
    elif name in PAPER_WEIGHTED:
        weights, source = AXIS_WEIGHT, "RealUnify's rule"
        if name != "realunify":
            source += f", which the {name} suite mirrors"
    else:
        return {
            "rule": "pooled",
            "weights": None,
            "source": f"default for benchmark {name!r}",
            "text": "Total = correct / instances, over both axes "
            "(not RealUnify, so not 0.6 UEG + 0.4 GEU).",
        }
    norm = sum(weights.values())
    shares = {a: float(weights.get(a, 0.0)) / norm for a in AXIS_WEIGHT}
    formula = " + ".join(f"{shares[a]:.3g} {a}" for a in AXIS_WEIGHT if shares[a] > 0)
    return {
        "rule": "weighted",
        "weights": shares,
        "source": source,
        "text": f"Total = {formula}, each axis the mean of its categories ({source}).",
    }


def total(entry: SystemSummary, rule: TotalRule, parser: Parser) -> float | None:
    """One system's Total under `rule` and `parser` (None where an axis it weighs is missing)."""
    axes: dict[str, AxisSummary] = {a: s for a in AXES if (s := axis_of(entry, a)) is not None}
    weights = rule["weights"]
    if weights is None:
        n = sum(a["counts"]["n"] for a in axes.values())
        right = sum(
            c["correct_official" if parser == "official" else "correct_strict"]
            for a in axes.values()
            for c in a["category_counts"].values()
        )
        return _percent(right, n) if n else None
    if any(w > 0 and a not in axes for a, w in weights.items()):
        return None
    return float(sum(w * _accuracy(axes[a], parser) for a, w in weights.items() if w > 0))


def total_under(entry: SystemSummary, rule: TotalRule | None, other: Parser | None) -> float | None:
    """Total: the headline one, or recomputed under the `other` parser."""
    return entry["total"] if other is None or rule is None else total(entry, rule, other)


def _accuracy(axis: AxisSummary, parser: Parser) -> float:
    return axis["accuracy_official"] if parser == "official" else axis["accuracy_strict"]


def axis_summary(results: list[Result], parser: Parser) -> AxisSummary:
    """Accuracy of one system on one axis, by category and overall, with counts."""
    by_category: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_category[result.category].append(result)
    categories = sorted(by_category, key=lambda c: _ORDER.get(c, 99))

    def correct(rs: list[Result], which: Parser) -> int:
        return sum(
            1 for r in rs if (r.correct_official if which == "official" else r.correct_strict)
        )

    per_cat = {
        c: _percent(correct(by_category[c], parser), len(by_category[c])) for c in categories
    }
    other: Parser = "strict" if parser == "official" else "official"
    per_cat_other = {
        c: _percent(correct(by_category[c], other), len(by_category[c])) for c in categories
    }
    counts = Counts(
        n=len(results),
        correct=correct(results, parser),
        failed=sum(1 for r in results if r.status == "failed"),
        refused=sum(1 for r in results if r.status == "refused"),
        unscored=sum(1 for r in results if r.status == "unscored"),
    )
    category_counts = {
        c: CategoryCounts(
            n=len(by_category[c]),
            correct_official=correct(by_category[c], "official"),
            correct_strict=correct(by_category[c], "strict"),
            not_ok=sum(1 for r in by_category[c] if r.status != "ok"),
        )
        for c in categories
    }
    summary = AxisSummary(
        accuracy=_mean(per_cat.values()),
        accuracy_official=_mean((per_cat if parser == "official" else per_cat_other).values()),
        accuracy_strict=_mean((per_cat if parser == "strict" else per_cat_other).values()),
        by_category=per_cat,
        counts=counts,
        category_counts=category_counts,
        cost_usd=_cost(results),
        latency_s=_mean(r.latency_s for r in results),
        by_seed={},
        seed_sd=None,
    )
    if parser == "official":
        summary["by_category_strict"] = per_cat_other
    else:
        summary["by_category_official"] = per_cat_other
    return in_declared_order(summary, AxisSummary)


def with_seed_spread(summary: AxisSummary, results: list[Result], parser: Parser) -> AxisSummary:
    """`summary` with `by_seed` (seed as a string -> axis accuracy) and `seed_sd`.

    The standard deviation is the sample one (n - 1); None with a single seed. With several
    seeds, `accuracy` is the mean over seeds, as documented.
    """
    per_seed: dict[int, list[Result]] = defaultdict(list)
    for result in results:
        per_seed[result.seed].append(result)
    by_seed = {str(s): axis_summary(per_seed[s], parser)["accuracy"] for s in sorted(per_seed)}
    values = list(by_seed.values())
    summary = {**summary, "by_seed": by_seed}
    if len(values) > 1:
        mean = sum(values) / len(values)
        summary["seed_sd"] = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
        summary["accuracy"] = mean
    return summary


def _total_by_seed(entry: SystemSummary, rule: TotalRule) -> dict[str, float] | None:
    """Total per seed, where every axis the rule weighs has that seed."""
    weights = rule["weights"]
    if weights is None:
        return None
    axes = {a: s for a, w in weights.items() if w > 0 and (s := axis_of(entry, a)) is not None}
    if len(axes) < sum(1 for w in weights.values() if w > 0):
        return None
    seeds = set.intersection(*(set(s["by_seed"]) for s in axes.values()))
    return {
        seed: sum(weights[a] * s["by_seed"][seed] for a, s in axes.items())
        for seed in sorted(seeds, key=int)
    }


def _cost(results: list[Result]) -> float | None:
    costs = [r.cost_usd for r in results if r.cost_usd is not None]
    return sum(costs) if costs else None


def _system(
    by_axis: Mapping[str, list[Result]],
    definition: SystemDefinition,
    rule: TotalRule,
    parser: Parser,
) -> SystemSummary:
    """One system's summary: each axis it answered, Total, and what it is."""
    roles = definition.axes.values()
    entry = SystemSummary(
        total=None,
        kind=definition.kind,
        mode=definition.mode,
        models=sorted({m for a in roles for m in a.roles.values()}),
        graphs={a: d.graph for a, d in definition.axes.items()},
    )
    if ueg := by_axis.get("UEG"):
        entry["UEG"] = with_seed_spread(axis_summary(ueg, parser), ueg, parser)
    if geu := by_axis.get("GEU"):
        entry["GEU"] = with_seed_spread(axis_summary(geu, parser), geu, parser)
    entry["total"] = total(entry, rule, parser)
    by_seed = _total_by_seed(entry, rule)
    if by_seed is not None and len(by_seed) > 1:
        entry["total_by_seed"] = by_seed
    return in_declared_order(entry, SystemSummary)


def selection_note(benchmark: Mapping[str, Any] | None) -> str:
    """What part of the benchmark the latest run selected, as a sentence ("" for all of it).

    Example:
        >>> selection_note({"instances": ["UEG-1*"], "limit": None})[:67]
        "The latest run was filtered: only instances matching 'UEG-1*'; inst"
    """
    bench = benchmark or {}
    parts = []
    if bench.get("instances"):
        parts.append("only instances matching " + ", ".join(map(repr, bench["instances"])))
    if bench.get("categories"):
        parts.append("only the categories " + ", ".join(bench["categories"]))
    if bench.get("limit"):
        parts.append(f"at most {bench['limit']} per category")
    if not parts:
        return ""
    return (
        f"The latest run was filtered: {'; '.join(parts)}; "
        "instances outside the selection were not run by it."
    )


def headline_parser(store: RunStore, parser: Parser | None = None) -> Parser:
    """The parser a report leads with: the one asked for, else the latest run's."""
    return parser or store.decisions().parser


def _lean(result: Result) -> Result:
    """`result` without what no summary reads (its output, its call trace `usage["steps"]`).

    A summary reads every result of a run; these two are most of a result's memory.
    """
    result.output = {}
    result.usage.pop("steps", None)
    return result


def summarize(
    store: RunStore,
    parser: Parser | None = None,
    results: list[Result] | None = None,
    *,
    judge: str | None = None,
    with_judges: bool = True,
    instances: Mapping[str, Instance] | None = None,
    judged: Callable[[], JudgeParts] | None = None,
) -> Report:
    """The whole report as one JSON-ready dict: `{"systems": {...}, "comparisons": [...]}`.

    UEG numbers come from one judge: `judge` (a model, label or id; default the run file's
    current judge), named in the report as `judge`. `results` saves a second read when the
    caller already holds `list(store.results(judge=...))` for that judge, `instances` when it
    holds `store.instances()`. With several judges in the run, `judges` holds their agreement
    and every headline comparison under each; `judged`, where given, returns those (each
    judge's summary by label, and the agreement) once the rest is summarized
    (`summary_beside` computes them beside it).
    """
    latest = store.latest_run()
    headline = headline_parser(store, parser)
    seed = int(latest["seed"]) if latest else 0
    run_seeds = [int(s) for s in latest["seeds"]] if latest else [0]
    judge_id, judge_label = judging.resolve_judge(store, judge)
    definitions = store.system_definitions()
    decisions = store.decisions()
    rule = total_rule(decisions.benchmark if latest else None)
    judges = judging.run_judges(store)
    several = with_judges and len(judges) > 1
    # Each judge's summary and their agreement before this one reads its results: the report
    # holds one judge's results at a time, so its memory does not double with a second judge.
    per_judge, agreement = (
        judge_parts(store, headline, judges, seed=seed) if several and judged is None else ({}, [])
    )
    if results is None:
        results = [_lean(r) for r in store.results(judge=judge_id, parser=headline)]
    everything = results
    grouped: dict[str, dict[str, list[Result]]] = defaultdict(lambda: defaultdict(list))
    for result in everything:
        grouped[result.system][result.axis].append(result)
    judge_model = store.judges().get(judge_id or "", {}).get("definition", {}).get("model")
    preference = judging.self_preference(definitions, judge_model)
    systems: dict[str, SystemSummary] = {}
    for name, definition in definitions.items():
        if name in grouped:
            systems[name] = _system(grouped[name], definition, rule, headline)
            if "UEG" in systems[name] and name in preference:
                systems[name]["self_preference"] = preference[name]
    judge_ids = [i for i, _ in judges] if several else []
    # The headline judge leads; the others only widen the intervals.
    judge_ids.sort(key=lambda i: i != judge_id)
    grids = noise.outcomes(
        everything,
        parser=headline,
        judges=judge_ids,
        scores=noise.judge_scores(store.score_rows(), headline) if judge_ids else None,
    )
    ran = {n: d for n, d in definitions.items() if n in systems}

    # The paired bootstraps and the attribution read the grids alone: in a large run they are
    # computed in a forked child while this process reads the costs and the rest.
    bootstrapped = functools.partial(noise.bootstrapped, ran, grids, parser=headline, seed=seed)
    paired = beside(bootstrapped, "composer-pairs") if len(everything) >= BESIDE_FROM else None
    costs = stats.costs(store.retries_by_system(), everything)
    report: Report = {
        "parser": headline,
        "judge": judge_label,
        "judge_id": judge_id,
        "total_rule": rule,
        "seed": seed,
        "seeds": run_seeds,
        "systems": systems,
        "comparisons": comparisons(systems),
        "paired": [],  # below, in this place
        "attribution": [],
        "costs": costs,
        "budget": budget.per_system(costs, everything, headline),
    }
    selection = selection_note(decisions.benchmark if latest else None)
    if selection:
        n = len({r.instance for r in everything})
        report["selection"] = f"{selection} The report covers the {n} instances with results."
    gone, stored = store.not_counted()
    if gone:
        shown = ", ".join(gone[:5]) + (", ..." if len(gone) > 5 else "")
        report["not_counted"] = {
            "instances": gone,
            "results": stored,
            "text": f"Not counted: {stored} stored results of {len(gone)} instances the "
            f"benchmark no longer holds ({shown}), as its latest whole run found.",
        }
    if len({r.seed for r in everything}) > 1:
        report["pass_rates"] = {name: grids[name].rates() for name in systems if name in grids}
    if with_judges:
        report["reproducibility"] = {
            **(latest["record"] if latest else {}),
            "reported_models": store.reported_models(),
        }
    report["paired"], report["attribution"] = (paired or bootstrapped)()
    for row in report["paired"]:
        row["spend"] = budget.spend(report["budget"].get(row["a"]), report["budget"].get(row["b"]))
    if several:
        if judged is not None:
            per_judge, agreement = judged()
        report["judges"] = {
            "judges": [label for _, label in judges],
            "agreement": agreement,
            **judging.by_judge(per_judge),
        }
    if with_judges and (section := channels.section(store, report, everything)) is not None:
        report["channels"] = section
    if with_judges:
        from composer.report import unimmmu  # only a Uni-MMMU run reads its release's keys

        unimmmu.attach(report, store, instances)
    return report


def judge_parts(
    store: RunStore, headline: Parser, judges: Sequence[tuple[str, str]], *, seed: int = 0
) -> JudgeParts:
    """Each of `judges`' own summary, by label, and how far they agree."""
    per_judge = {
        label: summarize(store, headline, judge=i, with_judges=False) for i, label in judges
    }
    return per_judge, judging.agreement(store, judges, seed=seed)


def comparisons(systems: Mapping[str, SystemSummary]) -> list[Comparison]:
    """The cross-system deltas per axis, as rows of `{comparison, a, b, axis, delta, ...}`.

    Stepwise minus direct for the same unified model (the integration gap), each composed minus
    each unified system (composition gain), and the best composed minus the best unified
    system (oracle headroom, also on Total).
    """
    rows: list[Comparison] = []
    unified = {n: s for n, s in systems.items() if s["kind"] == "unified"}
    for name, stepwise in unified.items():
        for other, direct in unified.items():
            if (
                stepwise["mode"] == "stepwise"
                and direct["mode"] == "direct"
                and stepwise["models"] == direct["models"]
            ):
                rows.extend(
                    _deltas("integration gap (stepwise - direct)", name, other, stepwise, direct)
                )
    for name, composed in systems.items():
        if composed["kind"] != "composed":
            continue
        for other, uni in unified.items():
            rows.extend(
                _deltas("composition gain (composed - unified)", name, other, composed, uni)
            )
    rows.extend(headroom(systems))
    return rows


def _score(entry: SystemSummary, axis: Scope) -> float | None:
    if axis == "Total":
        return entry["total"]
    summary = axis_of(entry, axis)
    return None if summary is None else summary["accuracy"]


def _categories(entry: SystemSummary, axis: Scope) -> dict[str, float]:
    summary = axis_of(entry, axis)
    return {} if summary is None else summary["by_category"]


def headroom(systems: Mapping[str, SystemSummary]) -> list[Comparison]:
    """The best composed system minus the best unified one, per axis and on Total."""
    label = "oracle headroom (best composed - best unified)"
    rows: list[Comparison] = []
    scopes: tuple[Scope, ...] = ("UEG", "GEU", "Total")
    for axis in scopes:
        best: dict[str, tuple[float, str]] = {}
        for name, entry in systems.items():
            value = _score(entry, axis)
            if value is not None and entry["kind"] in ("composed", "unified"):
                if entry["kind"] not in best or value > best[entry["kind"]][0]:
                    best[entry["kind"]] = (value, name)
        if "composed" in best and "unified" in best:
            (va, a), (vb, b) = best["composed"], best["unified"]
            ca, cb = _categories(systems[a], axis), _categories(systems[b], axis)
            rows.append(
                Comparison(
                    comparison=label,
                    a=a,
                    b=b,
                    axis=axis,
                    delta=va - vb,
                    by_category={c: ca[c] - cb[c] for c in ca if c in cb},
                )
            )
    return rows


def _deltas(label: str, a: str, b: str, sa: SystemSummary, sb: SystemSummary) -> list[Comparison]:
    out = []
    for axis in AXES:
        xa, xb = axis_of(sa, axis), axis_of(sb, axis)
        if xa is not None and xb is not None:
            ca, cb = xa["by_category"], xb["by_category"]
            out.append(
                Comparison(
                    comparison=label,
                    a=a,
                    b=b,
                    axis=axis,
                    delta=xa["accuracy"] - xb["accuracy"],
                    by_category={c: ca[c] - cb[c] for c in ca if c in cb},
                )
            )
    return out
