"""Score channels in the report: each declared channel's means, paired tests and judges.

A scorer may store named channels beside its headline 0/1 (`Scored.channels`: name ->
`{kind, official, strict}`; a Uni-MMMU scorer's frame accuracy, image distance, rubric). This
module reads them for the report's `channels` section, which is there only when some output
has channels (a RealUnify report is unchanged):

- `kinds`: each channel's kind (`binary`, `fraction`, `rubric_0_5`, `distance`: lower is
  better), as the scorer declared it.
- `systems`: per system and axis, each channel's mean under both readings over the axis
  (`all`: every instance of a category that declares the channel, each instance the same
  weight) and per category, with `n` (outputs) and per reading the outputs with no value
  (`unscored`: the reading is None, or the output failed or was never scored; a mean is over
  the scored ones, never a silent zero). With several run seeds, `by_seed` (seed -> mean),
  the mean over seeds and their sample SD (`seed_sd`).
- `paired`: the pairs the report's question compares (composed - unified, stepwise - direct),
  per channel, on the report's headline reading: `composer.report.channel_stats` picks the
  test from the kind and each row names it.
- `judges`: where a channel comes from a model-judged scorer and the run has several judge
  models, each judge's means and paired rows (`by_judge`), and `notes` naming the rows whose
  sign or significance changes with the judge.

A category declares the channels any system's output of it has. The headline reading's
channels come from the latest run's programmatic scorers and the model-judged scorer of the
headline judge's model; an output scored only by an older version of a scorer is read from
that version's latest score.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from composer.benchmarks.catalog import GEU_CATEGORIES, UEG_CATEGORIES
from composer.core.instance import Parser
from composer.evaluation.store import Result, RunStore
from composer.report.channel_stats import paired_channel
from composer.report.model import ChannelsSection, Report
from composer.report.pairs import question_pairs

READINGS: tuple[Parser, Parser] = ("official", "strict")
_ORDER = {c: i for i, c in enumerate(UEG_CATEGORIES + GEU_CATEGORIES)}
Key = tuple[str, str, int]
"""(system, instance, seed): one stored output."""
Cell = Mapping[str, Any]
"""One channel of one output as stored: `{kind, official, strict[, note]}`."""


@dataclass
class Outputs:
    """One system's instances: axis, category, and per run seed the channels of its output."""

    axis: dict[str, str] = field(default_factory=dict)
    category: dict[str, str] = field(default_factory=dict)
    by_seed: dict[str, dict[int, Mapping[str, Cell]]] = field(default_factory=dict)
    """Instance -> seed -> channel -> cell (an output with no channels maps to {})."""


@dataclass
class Channels:
    """Every system's channel values and what each axis and category declares."""

    kinds: dict[str, str] = field(default_factory=dict)
    declared: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Axis -> category -> its channel names, in the order first seen."""
    systems: dict[str, Outputs] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)


def collect(results: Iterable[Result], stored: Mapping[Key, Mapping[str, Cell]]) -> Channels:
    """Group the channels of `stored` ((system, instance, seed) -> channel -> cell) by result.

    Every result counts, failed ones too (with no channels, so unscored).
    """
    out = Channels()
    seeds: set[int] = set()
    for r in results:
        entry = out.systems.setdefault(r.system, Outputs())
        entry.axis[r.instance], entry.category[r.instance] = r.axis, r.category
        cells = stored.get((r.system, r.instance, r.seed), {})
        entry.by_seed.setdefault(r.instance, {})[r.seed] = cells
        seeds.add(r.seed)
        names = out.declared.setdefault(r.axis, {}).setdefault(r.category, [])
        for name, cell in cells.items():
            out.kinds.setdefault(name, str(cell.get("kind", "fraction")))
            if name not in names:
                names.append(name)
    out.seeds = sorted(seeds)
    for axis in list(out.declared):
        out.declared[axis] = {
            c: names
            for c, names in sorted(out.declared[axis].items(), key=lambda kv: _ORDER.get(kv[0], 99))
            if names
        }
        if not out.declared[axis]:
            del out.declared[axis]
    return out


def pick(
    stored: Mapping[Key, Mapping[str, Mapping[str, Cell]]],
    current: Sequence[str],
    wanted: Sequence[str],
    *,
    fallback: bool = True,
) -> dict[Key, dict[str, Cell]]:
    """Per output, the channels of the `wanted` scorer ids merged (later ids win a name).

    `stored` is `RunStore.channels()`; `current` the latest run's scorer ids. With `fallback`,
    an output that none of the current scorers scored is read from its latest stored score.
    """
    out: dict[Key, dict[str, Cell]] = {}
    for key, by_scorer in stored.items():
        merged: dict[str, Cell] = {}
        chosen = [i for i in wanted if i in by_scorer]
        if fallback and not chosen and not any(i in by_scorer for i in current):
            chosen = list(by_scorer)[-1:]
        for scorer in chosen:
            merged.update(by_scorer[scorer])
        if merged:
            out[key] = merged
    return out


def _value(cell: Cell | None, reading: Parser) -> float | None:
    value = None if cell is None else cell.get(reading)
    return None if value is None else float(value)


def _mean(values: Sequence[float]) -> float | None:
    """The mean, its sum exactly rounded (`math.fsum`).

    The same whatever order the outputs finished in: `np.mean`'s pairwise sum differs in the
    last digit with the order.
    """
    return math.fsum(values) / len(values) if values else None


def _reading(
    cells: Sequence[tuple[int, Cell | None]], reading: Parser, seeds: int
) -> dict[str, Any]:
    """Mean and unscored count of one reading; per seed and its SD with several seeds."""
    values = [(s, v) for s, c in cells if (v := _value(c, reading)) is not None]
    out: dict[str, Any] = {
        "mean": _mean([v for _, v in values]),
        "unscored": len(cells) - len(values),
    }
    if seeds > 1:
        per: dict[int, list[float]] = defaultdict(list)
        for s, v in values:
            per[s].append(v)
        by_seed = {str(s): float(_mean(per[s]) or 0.0) for s in sorted(per)}
        means = list(by_seed.values())
        out["by_seed"] = by_seed
        out["mean"] = _mean(means)
        out["seed_sd"] = float(np.std(means, ddof=1)) if len(means) > 1 else None
    return out


def _stats(
    outputs: Outputs, instances: Iterable[str], name: str, kind: str, seeds: int
) -> dict[str, Any]:
    cells = [
        (s, by_channel.get(name)) for i in instances for s, by_channel in outputs.by_seed[i].items()
    ]
    return {"kind": kind, "n": len(cells)} | {r: _reading(cells, r, seeds) for r in READINGS}


def system_means(data: Channels) -> dict[str, dict[str, dict[str, Any]]]:
    """Per system and axis: `all` (channel -> stats) and `by_category` (category -> ...)."""
    seeds = len(data.seeds)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for system, outputs in data.systems.items():
        for axis, categories in data.declared.items():
            members = {
                c: [
                    i for i, cat in outputs.category.items() if cat == c and outputs.axis[i] == axis
                ]
                for c in categories
            }
            if not any(members.values()):
                continue
            by_category = {
                c: {n: _stats(outputs, members[c], n, data.kinds[n], seeds) for n in names}
                for c, names in categories.items()
                if members[c]
            }
            overall: dict[str, Any] = {}
            for name in _names(categories):
                instances = [
                    i for c, names in categories.items() if name in names for i in members[c]
                ]
                overall[name] = _stats(outputs, instances, name, data.kinds[name], seeds)
            out.setdefault(system, {})[axis] = {"all": overall, "by_category": by_category}
    return out


def _names(categories: Mapping[str, Sequence[str]]) -> list[str]:
    names: list[str] = []
    for listed in categories.values():
        names += [n for n in listed if n not in names]
    return names


def _grid(
    outputs: Outputs, instances: Sequence[str], name: str, seeds: Sequence[int], reading: Parser
) -> np.ndarray:
    grid = np.full((len(instances), len(seeds)), np.nan)
    for row, instance in enumerate(instances):
        per_seed = outputs.by_seed.get(instance, {})
        for col, seed in enumerate(seeds):
            value = _value(per_seed.get(seed, {}).get(name), reading)
            if value is not None:
                grid[row, col] = value
    return grid


def paired_rows(
    data: Channels, report: Report, *, reading: Parser, seed: int = 0
) -> list[dict[str, Any]]:
    """The question's pairs compared per channel, each row with the test its kind chose.

    Per category, and on the axis for a channel that several categories declare.
    """
    rows: list[dict[str, Any]] = []
    for a, b, question in question_pairs(report):
        oa, ob = data.systems.get(a), data.systems.get(b)
        if oa is None or ob is None:
            continue
        for axis, categories in data.declared.items():
            scopes: list[tuple[str, list[str]]] = []
            for name in _names(categories):
                where = [c for c, names in categories.items() if name in names]
                if len(where) > 1:
                    scopes.append(("all", [name]))
            scopes += [(c, names) for c, names in categories.items()]
            for scope, names in scopes:
                cats = set(categories) if scope == "all" else {scope}
                shared = sorted(
                    i
                    for i, c in oa.category.items()
                    if c in cats and oa.axis[i] == axis and i in ob.category
                )
                for name in names:
                    if scope != "all" and not shared:
                        continue
                    mine = [i for i in shared if name in categories[oa.category[i]]]
                    grid_a = _grid(oa, mine, name, data.seeds, reading)
                    grid_b = _grid(ob, mine, name, data.seeds, reading)
                    test = paired_channel(grid_a, grid_b, data.kinds[name], seed=seed)
                    if not test.n:
                        continue
                    rows.append(
                        {"a": a, "b": b, "question": question, "axis": axis, "scope": scope}
                        | {"channel": name, "kind": data.kinds[name], "reading": reading}
                        | test.as_dict()
                    )
    return rows


def _model(judges: Mapping[str, Mapping[str, Any]], scorer: str) -> str | None:
    model = judges.get(scorer, {}).get("definition", {}).get("model")
    return None if model is None else str(model)


def section(store: RunStore, report: Report, results: Sequence[Result]) -> ChannelsSection | None:
    """The report's `channels` section for `results`, or None when no output has channels."""
    stored = store.channels()
    if not stored:
        return None
    judges = store.judges()
    latest = store.latest_run()
    current = list(latest["judges"]) if latest else list(judges)
    headline_model = _model(judges, report.get("judge_id") or "")
    judged = [i for i in current if _model(judges, i) is not None]
    if headline_model is None and judged:
        headline_model = _model(judges, judged[0])
    wanted = [i for i in current if _model(judges, i) in (None, headline_model)]
    data = collect(results, pick(stored, current, wanted))
    if not data.declared:
        return None
    out = ChannelsSection(
        kinds={n: data.kinds[n] for a in data.declared.values() for n in _names(a)},
        systems=system_means(data),
        paired=paired_rows(data, report, reading=report["parser"], seed=report["seed"]),
    )
    by_model = _judged_scorers(judges, judged)
    if len(by_model) > 1:
        per_judge: dict[str, dict[str, Any]] = {}
        for label, ids in by_model.items():
            mine = collect(results, pick(stored, current, ids, fallback=False))
            if mine.declared:
                per_judge[label] = {
                    "systems": system_means(mine),
                    "paired": paired_rows(
                        mine, report, reading=report["parser"], seed=report["seed"]
                    ),
                }
        if len(per_judge) > 1:
            out["judges"] = {"by_judge": per_judge, "notes": judge_notes(per_judge)}
    return out


def judge_notes(per_judge: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The paired channel rows whose sign, or whose significance at 0.05, changes by judge.

    Example:
        >>> row = {"a": "c", "b": "u", "scope": "geometry", "channel": "rubric"}
        >>> judge_notes({
        ...     "j1": {"paired": [row | {"difference": 1.0, "p_value": 0.01}]},
        ...     "j2": {"paired": [row | {"difference": -0.5, "p_value": 0.3}]},
        ... })
        ['rubric (geometry), c vs u: +1.000 (p 0.01) by j1, -0.500 (p 0.3) by j2']
    """
    found: dict[tuple[str, ...], dict[str, tuple[float, float]]] = {}
    for label, data in per_judge.items():
        for row in data["paired"]:
            key = (row["channel"], row["scope"], row["a"], row["b"])
            found.setdefault(key, {})[label] = (row["difference"], row["p_value"])
    notes = []
    for (name, scope, a, b), by in found.items():
        differences = [d for d, _ in by.values()]
        significant = [p < 0.05 for _, p in by.values()]
        flips = any(d > 0 for d in differences) and any(d < 0 for d in differences)
        if len(by) > 1 and (flips or (any(significant) and not all(significant))):
            told = ", ".join(f"{d:+.3f} (p {p:.2g}) by {label}" for label, (d, p) in by.items())
            notes.append(f"{name} ({scope}), {a} vs {b}: {told}")
    return notes


def _judged_scorers(
    judges: Mapping[str, Mapping[str, Any]], judged: Sequence[str]
) -> dict[str, list[str]]:
    """Judge label -> the model-judged scorer ids of its model (those that store channels)."""
    labels = {_model(judges, i): judges[i]["label"] for i in reversed(judged)}
    out: dict[str, list[str]] = {}
    for scorer in judged:
        out.setdefault(str(labels[_model(judges, scorer)]), []).append(scorer)
    return out
