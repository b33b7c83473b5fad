"""The report's score channels as rows: for markdown and CSV, and as the terminal's tables.

Reads only the report's `channels` section (`composer.report.channels`); a report without it
gives no rows, so its other renderings are unchanged. Values are the channels' own units:
binary and fraction channels 0-1, rubrics 0-5, distances (lower is better) as the scorer
measured them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

from composer.core.instance import Parser
from composer.report.model import Report
from composer.report.pairs import p_text

Column = tuple[str, Literal["name", "text", "number"]]
TEST_NOTE = (
    "p: binary channels exact McNemar (one seed) or exact sign test on per-instance rates "
    "(several seeds); graded channels (fraction, rubric, distance) the paired bootstrap's "
    "p-value (replicates shifted to the null), or the sign test where every instance differs "
    "by the same amount. 95% CI: percentile bootstrap of the mean "
    "difference, over instances (and seeds within them). Distance: lower is better."
)


class TableSpec(NamedTuple):
    """A table before layout: its title, columns (header, kind), rows and caption."""

    title: str
    columns: Sequence[Column]
    rows: list[list[str]]
    caption: str


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def _sd(reading: Mapping[str, Any]) -> str:
    sd = reading.get("seed_sd")
    return "-" if sd is None else f"{sd:.3f}"


def _several_seeds(report: Report) -> bool:
    return len(report.get("seeds", [])) > 1


def _scopes(axis_data: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [("all", axis_data["all"]), *axis_data["by_category"].items()]


def mean_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """One row per system, axis, scope (`all` or a category) and channel: both readings.

    With several run seeds, each reading's SD over seeds too. No rows without channels.
    """
    section = report.get("channels")
    if section is None:
        return [], []
    seeds = _several_seeds(report)
    header = ["system", "axis", "scope", "channel", "kind", "n"]
    for reading in ("official", "strict"):
        header += [reading, *([f"{reading} SD"] if seeds else []), f"{reading} unscored"]
    rows = []
    for system, axes in section["systems"].items():
        for axis, data in axes.items():
            for scope, channels in _scopes(data):
                for name, stats in channels.items():
                    row = [system, axis, scope, name, stats["kind"], str(stats["n"])]
                    for reading in ("official", "strict"):
                        r = stats[reading]
                        row += [_number(r["mean"]), *([_sd(r)] if seeds else [])]
                        row.append(str(r["unscored"]))
                    rows.append(row)
    return header, rows


def paired_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """One row per compared pair, scope and channel, with the test each row used."""
    section = report.get("channels")
    if section is None or not section["paired"]:
        return [], []
    header = ["A", "B", "axis", "scope", "channel", "kind", "reading", "n", "A mean", "B mean"]
    header += ["A - B", "95% CI", "p", "test", "CI over"]
    rows = [
        [
            p["a"],
            p["b"],
            p["axis"],
            p["scope"],
            p["channel"],
            p["kind"],
            p["reading"],
            str(p["n"]),
            _number(p["mean_a"]),
            _number(p["mean_b"]),
            _signed(p["difference"]),
            f"[{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}]",
            p_text(p["p_value"]),
            p["test"],
            p["noise"],
        ]
        for p in section["paired"]
    ]
    return header, rows


def judge_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """With several judge models: each judge's means of the channels it scores."""
    section = report.get("channels")
    judged = None if section is None else section.get("judges")
    if not judged:
        return [], []
    header = ["judge", "system", "axis", "scope", "channel", "kind", "n", "official", "strict"]
    rows = []
    for label, data in judged["by_judge"].items():
        for system, axes in data["systems"].items():
            for axis, per_axis in axes.items():
                for scope, channels in _scopes(per_axis):
                    for name, stats in channels.items():
                        rows.append(
                            [label, system, axis, scope, name, stats["kind"], str(stats["n"])]
                            + [_number(stats[r]["mean"]) for r in ("official", "strict")]
                        )
    return header, rows


def sections(report: Report) -> list[tuple[str, tuple[list[str], list[list[str]]]]]:
    """Every channel table for markdown and CSV: means, paired tests, judges (may be empty)."""
    return [
        ("Score channels, mean per reading", mean_rows(report)),
        ("Score channels, paired (test per row)", paired_rows(report)),
        ("Score channels by judge", judge_rows(report)),
    ]


def _judges_table(report: Report) -> TableSpec | None:
    """The headline reading's mean of each judged channel, a column per judge; the notes."""
    section = report.get("channels")
    judged = None if section is None else section.get("judges")
    if not judged:
        return None
    headline = report["parser"]
    labels = list(judged["by_judge"])
    cells: dict[tuple[str, str, str, str], dict[str, str]] = {}
    for label, data in judged["by_judge"].items():
        for system, axes in data["systems"].items():
            for axis, per_axis in axes.items():
                for scope, channels in _scopes(per_axis):
                    for name, stats in channels.items():
                        key = (system, axis, scope, name)
                        cells.setdefault(key, {})[label] = _number(stats[headline]["mean"])
    columns: list[Column] = [("system", "name"), ("axis, scope", "text"), ("channel", "text")]
    columns += [(label, "number") for label in labels]
    rows = [
        [system, f"{axis}, {scope}", name, *(by.get(label, "-") for label in labels)]
        for (system, axis, scope, name), by in cells.items()
    ]
    notes = judged.get("notes") or []
    caption = f"mean of each judged channel, {headline} reading, by judge model." + "".join(
        f"\ndepends on the judge: {line}" for line in notes
    )
    return TableSpec("score channels by judge", columns, rows, caption)


def _cell(stats: Mapping[str, Any], headline: Parser) -> str:
    """The headline reading's mean (± SD), the other reading where it differs, unscored."""
    other: Parser = "strict" if headline == "official" else "official"
    mine, theirs = stats[headline], stats[other]
    text = _number(mine["mean"])
    if mine.get("seed_sd") is not None:
        text += f" ± {mine['seed_sd']:.3f}"
    if theirs["mean"] != mine["mean"]:
        text += f" ({other[0]} {_number(theirs['mean'])})"
    if mine["unscored"]:
        text += f" [{mine['unscored']}/{stats['n']} u]"
    return text


def _axis_table(report: Report, axis: str) -> TableSpec:
    """One axis: a row per scope and channel, a column per system (headline reading).

    The `all` row of a channel only one category declares is left out: it repeats that
    category's row.
    """
    section = report["channels"]
    headline = report["parser"]
    other = "strict" if headline == "official" else "official"
    systems = {s: per[axis] for s, per in section["systems"].items() if axis in per}
    keys: list[tuple[str, str, str]] = []
    for data in systems.values():
        spread = Counter(n for channels in data["by_category"].values() for n in channels)
        for scope, channels in _scopes(data):
            keys += [
                (scope, n, c["kind"])
                for n, c in channels.items()
                if (scope, n, c["kind"]) not in keys and (scope != "all" or spread[n] > 1)
            ]
    rows = []
    for scope, name, kind in keys:
        cells = []
        for data in systems.values():
            scoped = dict(_scopes(data)).get(scope, {})
            cells.append(_cell(scoped[name], headline) if name in scoped else "-")
        rows.append([scope, name, kind, *cells])
    columns: list[Column] = [("scope", "text"), ("channel", "text"), ("kind", "text")]
    columns += [(s, "number") for s in systems]
    caption = (
        f"mean of each channel, {headline} reading"
        + (" ± SD over run seeds" if _several_seeds(report) else "")
        + f"; ({other[0]} x): the {other} reading where it differs; [k/n u]: k of n outputs "
        "unscored in this reading (failed, not scored, or no value), left out of the mean. "
        "all: every instance of the categories that declare the channel."
    )
    return TableSpec(f"{axis} score channels", columns, rows, caption)


def terminal_tables(report: Report) -> list[TableSpec]:
    """One compact table per axis with channels, then the question's pairs per channel."""
    section = report.get("channels")
    if section is None:
        return []
    headline = report["parser"]
    axes = {a for per in section["systems"].values() for a in per}
    tables = [_axis_table(report, axis) for axis in ("UEG", "GEU") if axis in axes]
    if (judges := _judges_table(report)) is not None:
        tables.append(judges)
    header, body = paired_rows(report)
    if body:
        columns: list[Column] = [("A vs B", "name"), ("scope", "text"), ("channel", "text")]
        columns += [(h, "number") for h in ("n", "A", "B", "A - B", "95% CI", "p")]
        columns.append(("test", "text"))
        rows = [[f"{r[0]} vs {r[1]}", r[3], r[4], *r[7:13], r[13]] for r in body]
        title = f"score channels, paired on shared instances ({headline} reading)"
        tables.append(TableSpec(title, columns, rows, TEST_NOTE))
    return tables
