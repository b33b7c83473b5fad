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

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Literal, cast

from composer.core.instance import CATEGORY_ABBREV, GEU_CATEGORIES, UEG_CATEGORIES
from composer.evaluation.store import Result, RunStore
from composer.report import budget, judging, noise, stats
from composer.report.csvsafe import safe_row

Parser = Literal["official", "strict"]
AXIS_WEIGHT = {"UEG": 0.6, "GEU": 0.4}
"""RealUnify's Total: 600 UEG and 400 GEU instances, so Total = correct / 1,000."""
PAPER_WEIGHTED = ("realunify", "synthetic")
"""Benchmarks whose Total is RealUnify's rule by default (the synthetic suite mirrors its
10 categories of equal size, 6 UEG and 4 GEU)."""
_ORDER = {c: i for i, c in enumerate(UEG_CATEGORIES + GEU_CATEGORIES)}


def _percent(correct: int, n: int) -> float:
    return 100.0 * correct / n if n else 0.0


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def total_rule(benchmark: dict[str, Any] | None) -> dict[str, Any]:
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


def total(entry: dict[str, Any], rule: dict[str, Any], parser: Parser) -> float | None:
    """One system's Total under `rule` and `parser` (None where an axis it weighs is missing)."""
    if rule["rule"] == "pooled":
        axes = [entry[a] for a in AXIS_WEIGHT if a in entry]
        n = sum(a["counts"]["n"] for a in axes)
        right = sum(c[f"correct_{parser}"] for a in axes for c in a["category_counts"].values())
        return _percent(right, n) if n else None
    weights = rule["weights"]
    if any(w > 0 and a not in entry for a, w in weights.items()):
        return None
    return float(sum(w * entry[a][f"accuracy_{parser}"] for a, w in weights.items() if w > 0))


def axis_summary(results: list[Result], parser: Parser) -> dict[str, Any]:
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
    counts = {"n": len(results), "correct": correct(results, parser)}
    for status in ("failed", "refused", "unscored"):
        counts[status] = sum(1 for r in results if r.status == status)
    category_counts = {
        c: {
            "n": len(by_category[c]),
            "correct_official": correct(by_category[c], "official"),
            "correct_strict": correct(by_category[c], "strict"),
            "not_ok": sum(1 for r in by_category[c] if r.status != "ok"),
        }
        for c in categories
    }
    return {
        "accuracy": _mean(per_cat.values()),
        "accuracy_official": _mean((per_cat if parser == "official" else per_cat_other).values()),
        "accuracy_strict": _mean((per_cat if parser == "strict" else per_cat_other).values()),
        "by_category": per_cat,
        "by_category_strict" if parser == "official" else "by_category_official": per_cat_other,
        "counts": counts,
        "category_counts": category_counts,
        "cost_usd": _cost(results),
        "latency_s": _mean(r.latency_s for r in results),
    }


def seed_spread(results: list[Result], parser: Parser) -> dict[str, Any]:
    """`by_seed` (seed as a string -> axis accuracy) and `seed_sd` of one system's axis.

    The standard deviation is the sample one (n - 1); None with a single seed.
    """
    per_seed: dict[int, list[Result]] = defaultdict(list)
    for result in results:
        per_seed[result.seed].append(result)
    by_seed = {str(s): axis_summary(per_seed[s], parser)["accuracy"] for s in sorted(per_seed)}
    values = list(by_seed.values())
    sd = None
    if len(values) > 1:
        mean = sum(values) / len(values)
        sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return {"by_seed": by_seed, "seed_sd": sd}


def _total_by_seed(entry: dict[str, Any], rule: dict[str, Any]) -> dict[str, float] | None:
    """Total per seed, where every axis the rule weighs has that seed."""
    if rule["rule"] != "weighted":
        return None
    axes = [a for a, w in rule["weights"].items() if w > 0]
    if any(a not in entry for a in axes):
        return None
    seeds = set.intersection(*(set(entry[a]["by_seed"]) for a in axes))
    return {
        s: sum(rule["weights"][a] * entry[a]["by_seed"][s] for a in axes)
        for s in sorted(seeds, key=int)
    }


def _cost(results: list[Result]) -> float | None:
    costs = [r.cost_usd for r in results if r.cost_usd is not None]
    return sum(costs) if costs else None


def _mode(definition: dict[str, Any]) -> str:
    if "mode" in definition:
        return str(definition["mode"])
    graphs = {axis["graph"] for axis in definition["axes"].values()}
    return "direct" if graphs == {"direct"} else "stepwise"


def headline_parser(store: RunStore, parser: Parser | None = None) -> Parser:
    """The parser a report leads with: the one asked for, else the latest run's."""
    latest = store.latest_run()
    chosen = parser or (latest["config"]["judge"]["parser"] if latest else "official")
    return cast(Parser, chosen)


def summarize(
    store: RunStore,
    parser: Parser | None = None,
    results: list[Result] | None = None,
    *,
    judge: str | None = None,
    with_judges: bool = True,
) -> dict[str, Any]:
    """The whole report as one JSON-ready dict: `{"systems": {...}, "comparisons": [...]}`.

    UEG numbers come from one judge: `judge` (a model, label or id; default the run file's
    current judge), named in the report as `judge`. `results` saves a second read when the
    caller already holds `list(store.results(judge=...))` for that judge. With several judges
    in the run, `judges` holds their agreement and every headline comparison under each.
    """
    latest = store.latest_run()
    headline = headline_parser(store, parser)
    seed = int(latest["seed"]) if latest else 0
    run_seeds = [int(s) for s in latest["seeds"]] if latest else [0]
    judge_id, judge_label = judging.resolve_judge(store, judge)
    definitions = store.system_definitions()
    rule = total_rule(latest["config"].get("benchmark") if latest else None)
    if results is None:
        results = list(store.results(judge=judge_id, parser=headline))
    everything = results
    grouped: dict[str, dict[str, list[Result]]] = defaultdict(lambda: defaultdict(list))
    for result in everything:
        grouped[result.system][result.axis].append(result)
    judge_model = store.judges().get(judge_id or "", {}).get("definition", {}).get("model")
    preference = judging.self_preference(definitions, judge_model)
    systems: dict[str, Any] = {}
    for name in definitions:
        if name not in grouped:
            continue
        entry: dict[str, Any] = {}
        for axis in ("UEG", "GEU"):
            if grouped[name].get(axis):
                entry[axis] = axis_summary(grouped[name][axis], headline)
                entry[axis].update(seed_spread(grouped[name][axis], headline))
                if len(entry[axis]["by_seed"]) > 1:  # the mean over seeds, as documented
                    values = entry[axis]["by_seed"].values()
                    entry[axis]["accuracy"] = sum(values) / len(values)
        entry["total"] = total(entry, rule, headline)
        by_seed = _total_by_seed(entry, rule)
        if by_seed is not None and len(by_seed) > 1:
            entry["total_by_seed"] = by_seed
        axes = definitions[name]["axes"]
        entry["kind"], entry["mode"] = definitions[name]["kind"], _mode(definitions[name])
        entry["models"] = sorted({m for a in axes.values() for m in a["roles"].values()})
        entry["graphs"] = {a: d["graph"] for a, d in axes.items()}
        if "UEG" in entry and name in preference:
            entry["self_preference"] = preference[name]
        systems[name] = entry
    judges = judging.run_judges(store)
    judge_ids = [i for i, _ in judges] if with_judges and len(judges) > 1 else []
    # The headline judge leads; the others only widen the intervals.
    judge_ids.sort(key=lambda i: i != judge_id)
    grids = noise.outcomes(
        everything,
        parser=headline,
        judges=judge_ids,
        scores=noise.judge_scores(store.score_rows(), headline) if judge_ids else None,
    )
    ran = {n: d for n, d in definitions.items() if n in systems}
    report: dict[str, Any] = {
        "parser": headline,
        "judge": judge_label,
        "judge_id": judge_id,
        "total_rule": rule,
        "seed": seed,
        "seeds": run_seeds,
        "systems": systems,
        "comparisons": comparisons(systems),
        "paired": [
            p.as_dict() for p in noise.all_pairs(list(systems), grids, parser=headline, seed=seed)
        ],
        "attribution": noise.attribution(ran, grids, parser=headline, seed=seed),
        "costs": stats.costs(store.call_rows(), everything),
    }
    report["budget"] = budget.per_system(report["costs"], everything, headline)
    for row in report["paired"]:
        row["spend"] = budget.spend(report["budget"].get(row["a"]), report["budget"].get(row["b"]))
    if len({r.seed for r in everything}) > 1:
        report["pass_rates"] = {name: grids[name].rates() for name in systems if name in grids}
    if with_judges:
        report["reproducibility"] = {
            **(latest["record"] if latest else {}),
            "reported_models": store.reported_models(),
        }
    if with_judges and len(judges) > 1:
        per_judge = {
            label: summarize(store, headline, judge=i, with_judges=False) for i, label in judges
        }
        report["judges"] = {
            "judges": [label for _, label in judges],
            "agreement": judging.agreement(store, judges, seed=seed),
            **judging.by_judge(per_judge),
        }
    return report


def comparisons(systems: dict[str, Any]) -> list[dict[str, Any]]:
    """The cross-system deltas per axis, as rows of `{comparison, a, b, axis, delta, ...}`.

    Stepwise minus direct for the same unified model (the integration gap), each composed minus
    each unified system (composition gain), and the best composed minus the best unified
    system (oracle headroom, also on Total).
    """
    rows: list[dict[str, Any]] = []
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


def _score(entry: dict[str, Any], axis: str) -> float | None:
    if axis == "Total":
        return None if entry["total"] is None else float(entry["total"])
    return float(entry[axis]["accuracy"]) if axis in entry else None


def headroom(systems: dict[str, Any]) -> list[dict[str, Any]]:
    """The best composed system minus the best unified one, per axis and on Total."""
    label = "oracle headroom (best composed - best unified)"
    rows: list[dict[str, Any]] = []
    for axis in ("UEG", "GEU", "Total"):
        best: dict[str, tuple[float, str]] = {}
        for name, entry in systems.items():
            value = _score(entry, axis)
            if value is not None and entry["kind"] in ("composed", "unified"):
                if entry["kind"] not in best or value > best[entry["kind"]][0]:
                    best[entry["kind"]] = (value, name)
        if "composed" in best and "unified" in best:
            (va, a), (vb, b) = best["composed"], best["unified"]
            cats: dict[str, float] = {}
            if axis != "Total":
                ca, cb = systems[a][axis]["by_category"], systems[b][axis]["by_category"]
                cats = {c: ca[c] - cb[c] for c in ca if c in cb}
            rows.append(
                {
                    "comparison": label,
                    "a": a,
                    "b": b,
                    "axis": axis,
                    "delta": va - vb,
                    "by_category": cats,
                }
            )
    return rows


def _deltas(
    label: str, a: str, b: str, sa: dict[str, Any], sb: dict[str, Any]
) -> list[dict[str, Any]]:
    out = []
    for axis in ("UEG", "GEU"):
        if axis in sa and axis in sb:
            cats = {
                c: sa[axis]["by_category"][c] - sb[axis]["by_category"][c]
                for c in sa[axis]["by_category"]
                if c in sb[axis]["by_category"]
            }
            out.append(
                {
                    "comparison": label,
                    "a": a,
                    "b": b,
                    "axis": axis,
                    "delta": sa[axis]["accuracy"] - sb[axis]["accuracy"],
                    "by_category": cats,
                }
            )
    return out


def result_rows(
    store: RunStore, *, judge: str | None = None, parser: Parser = "official"
) -> list[dict[str, Any]]:
    """One JSON-ready row per (system, instance), for `--format jsonl`, as `judge` scored it."""
    return [
        {
            "system": r.system,
            "instance": r.instance,
            "seed": r.seed,
            "axis": r.axis,
            "category": r.category,
            "status": r.status,
            "correct_official": r.correct_official,
            "correct_strict": r.correct_strict,
            "output": r.output,
            "error": r.error,
            "latency_s": r.latency_s,
            "cost_usd": r.cost_usd,
            "judge": r.judge,
        }
        for r in store.results(judge=judge, parser=parser)
    ]


def _columns(report: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(header, axis, category or None for the axis mean) for every column that has data."""
    seen: dict[str, set[str]] = {"UEG": set(), "GEU": set()}
    for entry in report["systems"].values():
        for axis in seen:
            if axis in entry:
                seen[axis].update(entry[axis]["by_category"])
    columns: list[tuple[str, str, str | None]] = []
    for axis, cats in (("UEG", UEG_CATEGORIES), ("GEU", GEU_CATEGORIES)):
        present = [c for c in cats if c in seen[axis]] + sorted(seen[axis] - set(cats))
        columns += [(CATEGORY_ABBREV.get(c, c), axis, c) for c in present]
        if present:
            columns.append((axis, axis, None))
    return columns


def _cell(entry: dict[str, Any], axis: str, category: str | None, suffix: str = "") -> str:
    if axis not in entry:
        return "-"
    data = entry[axis]
    value = (
        data["accuracy" + (suffix or "")]
        if category is None
        else data["by_category" + suffix].get(category)
    )
    return "-" if value is None else f"{value:.1f}"


def table_rows(
    report: dict[str, Any], parser: Parser | None = None
) -> tuple[list[str], list[list[str]]]:
    """The headline table as header and rows of strings (under `parser`, default the report's)."""
    columns = _columns(report)
    suffix = "" if parser in (None, report["parser"]) else f"_{parser}"
    rule = report.get("total_rule") or total_rule(None)
    header = [
        "system",
        "kind",
        "mode",
        *[c[0] for c in columns],
        "Total",
        "n",
        "failed",
        "unscored",
    ]
    rows = []
    for name, entry in report["systems"].items():
        counts = [entry[a]["counts"] for a in ("UEG", "GEU") if a in entry]
        value = total(entry, rule, parser) if suffix and parser else entry["total"]
        rows.append(
            [
                name,
                entry["kind"],
                entry["mode"],
                *[_cell(entry, axis, cat, suffix) for _, axis, cat in columns],
                "-" if value is None else f"{value:.1f}",
                str(sum(c["n"] for c in counts)),
                str(sum(c["failed"] + c["refused"] for c in counts)),
                str(sum(c["unscored"] for c in counts)),
            ]
        )
    return header, rows


def _p(value: float) -> str:
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def paired_rows(
    report: dict[str, Any], scope: str | None = "all"
) -> tuple[list[str], list[list[str]]]:
    """The paired comparisons (of one scope: all, UEG or GEU; None for every scope)."""
    header = [
        "A",
        "B",
        "scope",
        "n",
        "both",
        "only A",
        "only B",
        "neither",
        "A - B",
        "95% CI",
        "noise",
        "p",
        "spend A vs B",
    ]
    rows = [
        [
            p["a"],
            p["b"],
            p["scope"],
            str(p["n"]),
            str(p["both"]),
            str(p["only_a"]),
            str(p["only_b"]),
            str(p["neither"]),
            f"{p['difference']:+.1f}",
            f"[{p['ci95'][0]:+.1f}, {p['ci95'][1]:+.1f}]",
            p.get("noise", "instances"),
            _p(p["p_value"]),
            budget.spend_note(p.get("spend") or {}),
        ]
        for p in report.get("paired", [])
        if scope is None or p["scope"] == scope
    ]
    return header, rows


def attribution_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Stage attribution: one row per pair of systems that differ in one role's binding."""
    header = ["axis", "role", "A", "B", "A binds", "B binds", "A - B", "by category", "p"]
    rows = [
        [
            r["axis"],
            r["role"],
            r["a"],
            r["b"],
            r["a_model"],
            r["b_model"],
            f"{r['delta']:+.1f}",
            " ".join(f"{CATEGORY_ABBREV.get(c, c)} {v:+.0f}" for c, v in r["by_category"].items()),
            _p(r["p_value"]),
        ]
        for r in report.get("attribution", [])
    ]
    return header, rows


def seed_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per system and axis (and Total): the mean over seeds, each seed's accuracy, their SD.

    No rows with one seed.
    """
    seeds = [str(s) for s in report.get("seeds", [])]
    if len(seeds) < 2:
        return [], []
    header = ["system", "axis", "mean", *[f"seed {s}" for s in seeds], "SD"]
    rows: list[list[str]] = []

    def cells(mean: float | None, by_seed: dict[str, float], sd: float | None) -> list[str]:
        values = [f"{by_seed[s]:.1f}" if s in by_seed else "-" for s in seeds]
        return ["-" if mean is None else f"{mean:.1f}", *values, "-" if sd is None else f"{sd:.1f}"]

    for name, entry in report["systems"].items():
        for axis in ("UEG", "GEU"):
            if axis in entry:
                data = entry[axis]
                spread = cells(data["accuracy"], data["by_seed"], data["seed_sd"])
                rows.append([name, axis, *spread])
        if "total_by_seed" in entry:
            values = list(entry["total_by_seed"].values())
            mean = sum(values) / len(values)
            sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
            rows.append([name, "Total", *cells(entry["total"], entry["total_by_seed"], sd)])
    return header, rows


def budget_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per system: calls, images, tokens and cost per instance and per correct answer."""
    header = [
        "system",
        "calls/inst",
        "images/inst",
        "tokens/inst",
        "$/inst",
        "correct",
        "images/correct",
        "$/correct",
    ]

    def num(value: float | None, form: str = "{:.2f}") -> str:
        return "-" if value is None else form.format(value)

    rows = [
        [
            name,
            num(b["calls_per_instance"]),
            num(b["images_per_instance"]),
            num(b["tokens_per_instance"], "{:.0f}"),
            num(b["cost_per_instance"], "{:.4f}"),
            f"{b['correct']}/{b['instances']}",
            num(b["images_per_correct"]),
            num(b["cost_per_correct"], "{:.4f}"),
        ]
        for name, b in report.get("budget", {}).items()
    ]
    return header, rows


def cost_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Per system, then per graph node: calls, model time and cost if run alone, and spent.

    "alone" charges every call a task used, sent or replayed from the cache, so the column does
    not depend on the order the systems ran in; "spent" is what this run actually paid.
    """
    header = [
        "system",
        "node",
        "tasks or calls",
        "calls/task",
        "images/task",
        "model s (alone)",
        "wall s",
        "cost $ (alone)",
        "spent $",
    ]

    def money(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    rows: list[list[str]] = []
    for system, entry in report.get("costs", {}).items():
        rows.append(
            [
                system,
                "(whole task)",
                str(entry["tasks"]),
                f"{entry['calls_per_task']:.2f}",
                f"{entry['images_per_task']:.2f}",
                f"{entry['model_s']:.2f}",
                f"{entry['total_latency_s']:.2f}",
                money(entry["cost_usd"]),
                money(entry["spent_usd"]),
            ]
        )
        for node, n in entry["nodes"].items():
            rows.append(
                [
                    system,
                    node,
                    str(n["calls"]),
                    "",
                    "",
                    f"{n['model_s']:.2f}",
                    "",
                    money(n["cost_usd"]),
                    money(n["spent_usd"]),
                ]
            )
    return header, rows


def judge_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Agreement of each pair of judges, on UEG questions and on whole instances."""
    header = ["judge A", "judge B", "level", "n", "agreement %", "95% CI", "kappa", "95% CI"]
    rows: list[list[str]] = []

    def interval(values: list[float] | None, scale: float, digits: int) -> str:
        if not values:
            return "-"
        return f"[{values[0] * scale:.{digits}f}, {values[1] * scale:.{digits}f}]"

    for pair in (report.get("judges") or {}).get("agreement", []):
        for level in ("questions", "instances"):
            m = pair[level]
            rows.append(
                [
                    pair["a"],
                    pair["b"],
                    level,
                    str(m["n"]),
                    "-" if m["agreement"] is None else f"{100 * m['agreement']:.1f}",
                    interval(m["agreement_ci95"], 100, 1),
                    "-" if m["kappa"] is None else f"{m['kappa']:.3f}",
                    interval(m["kappa_ci95"], 1, 3),
                ]
            )
    return header, rows


def total_note(report: dict[str, Any]) -> str:
    """The line under every accuracy table that says how Total was made."""
    return str((report.get("total_rule") or total_rule(None))["text"])


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render(report: dict[str, Any], fmt: str, store: RunStore | None = None) -> str:
    """Render the report as `json`, `jsonl` (needs `store`), `markdown` or `csv` text."""
    if fmt == "json":
        return json.dumps(report, indent=2)
    if fmt == "jsonl":
        assert store is not None
        records = result_rows(store, judge=report.get("judge_id"), parser=report["parser"])
        return "".join(json.dumps(record) + "\n" for record in records)
    header, rows = table_rows(report)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(safe_row(header))  # names from run files: never a formula
        writer.writerows(safe_row(row) for row in rows)
        return buffer.getvalue()
    if fmt == "markdown":
        lines = _markdown(header, rows)
        lines.append("")
        lines.append(total_note(report))
        lines.append("")
        lines.append(f"Parser: {report['parser']}; UEG judge: {report['judge']}.")
        for name, entry in report["systems"].items():
            if "self_preference" in entry:
                lines.append(f"- self-preference: {name} is {entry['self_preference']}.")
        for comparison in report["comparisons"]:
            lines.append(
                f"- {comparison['comparison']}: {comparison['a']} vs {comparison['b']}, "
                f"{comparison['axis']} {comparison['delta']:+.1f}"
            )
        for title, (head, body) in (
            ("Accuracy by run seed", seed_rows(report)),
            (
                "Paired comparisons (shared instances; exact McNemar / sign-test p)",
                paired_rows(report, None),
            ),
            ("Budget per instance and per correct answer", budget_rows(report)),
            ("Stage attribution", attribution_rows(report)),
            ("Latency and cost", cost_rows(report)),
            ("Judges: agreement on UEG", judge_rows(report)),
        ):
            if body:
                lines += ["", f"### {title}", "", *_markdown(head, body)]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
