"""Tables from a summary: rows for the terminal and HTML, and CSV, JSONL and Markdown output.

Every function here lays out a summary built by `composer.report.summary.summarize` (or, for
per-result rows, the run store's results).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from composer.benchmarks.catalog import CATEGORY_ABBREV, GEU_CATEGORIES, UEG_CATEGORIES
from composer.core.instance import Parser
from composer.evaluation.store import RunStore
from composer.report import budget, channel_tables, unimmmu
from composer.report.csvsafe import safe_row
from composer.report.model import (
    AXES,
    AxisName,
    Report,
    SystemSummary,
    accuracy_of,
    axes_of,
    axis_of,
    categories_of,
    count_cells,
    other_parser,
)
from composer.report.numbers import one_decimal
from composer.report.safe_text import markdown_text
from composer.report.summary import total_rule, total_under


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
            "failure": None if r.failure is None else r.failure.model_dump(),
            "latency_s": r.latency_s,
            "cost_usd": r.cost_usd,
            "judge": r.judge,
        }
        for r in store.results(judge=judge, parser=parser)
    ]


def _columns(report: Report) -> list[tuple[str, AxisName, str | None]]:
    """(header, axis, category or None for the axis mean) for every column that has data."""
    seen: dict[AxisName, set[str]] = {"UEG": set(), "GEU": set()}
    for entry in report["systems"].values():
        for axis, summary in axes_of(entry).items():
            seen[axis].update(summary["by_category"])
    columns: list[tuple[str, AxisName, str | None]] = []
    for axis, cats in zip(AXES, (UEG_CATEGORIES, GEU_CATEGORIES), strict=True):
        present = [c for c in cats if c in seen[axis]] + sorted(seen[axis] - set(cats))
        columns += [(CATEGORY_ABBREV.get(c, c), axis, c) for c in present]
        if present:
            columns.append((axis, axis, None))
    return columns


def _cell(entry: SystemSummary, axis: str, category: str | None, other: Parser | None) -> str:
    summary = axis_of(entry, axis)
    if summary is None:
        return "-"
    value = (
        accuracy_of(summary, other)
        if category is None
        else categories_of(summary, other).get(category)
    )
    return "-" if value is None else one_decimal(value)


def table_rows(report: Report, parser: Parser | None = None) -> tuple[list[str], list[list[str]]]:
    """The headline table as header and rows of strings (under `parser`, default the report's)."""
    columns = _columns(report)
    other = other_parser(report, parser)
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
        value = total_under(entry, rule, other)
        rows.append(
            [
                name,
                entry["kind"],
                entry["mode"],
                *[_cell(entry, axis, cat, other) for _, axis, cat in columns],
                "-" if value is None else one_decimal(value),
                *count_cells(entry),
            ]
        )
    return header, rows


def _p(value: float) -> str:
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def paired_rows(
    paired: Sequence[Mapping[str, Any]], scope: str | None = "all"
) -> tuple[list[str], list[list[str]]]:
    """Paired comparisons (`Report["paired"]` rows) of one scope: all, UEG or GEU (None: all)."""
    judged = any("ci95_all_judges" in p for p in paired)
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
        *(["95% CI (all judges)"] if judged else []),
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
            interval_text(p["ci95"]),
            *([interval_text(p.get("ci95_all_judges"))] if judged else []),
            all_judges_noise(p) if judged else p.get("noise", "instances"),
            _p(p["p_value"]),
            budget.spend_note(p.get("spend") or {}),
        ]
        for p in paired
        if scope is None or p["scope"] == scope
    ]
    return header, rows


def interval_text(values: Sequence[float] | None) -> str:
    """A 95% interval in points, `[-2.5, +32.5]`; `-` when there is none."""
    return "-" if not values else f"[{values[0]:+.1f}, {values[1]:+.1f}]"


def all_judges_noise(p: Mapping[str, Any]) -> str:
    """What a paired row's intervals resample: the headline's, then (if set) the all-judges'."""
    noise = str(p.get("noise", "instances"))
    other = p.get("noise_all_judges")
    return f"{noise}; all judges: {other}" if other else noise


def mean_sd(mean: float | None, values: Sequence[float]) -> str:
    """`mean ± SD` of per-seed values (sample SD); the mean alone with fewer than two."""
    if mean is None:
        return "-"
    if len(values) < 2:
        return one_decimal(mean)
    centre = sum(values) / len(values)
    sd = (sum((v - centre) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{one_decimal(mean)} ± {one_decimal(sd)}"


def mean_sd_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """One row per system: UEG, GEU and Total as mean ± SD over the run seeds.

    No rows with one seed (the accuracy table says it all).
    """
    if len(report.get("seeds", [])) < 2:
        return [], []
    header = ["system", "kind", "mode", "UEG", "GEU", "Total", "seeds"]
    rows = []
    for name, entry in report["systems"].items():
        cells = []
        for axis in AXES:
            data = axis_of(entry, axis)
            cells.append(
                "-" if data is None else mean_sd(data["accuracy"], list(data["by_seed"].values()))
            )
        totals = list((entry.get("total_by_seed") or {}).values())
        cells.append(mean_sd(entry["total"], totals))
        seeds = max([len(totals)] + [len(s["by_seed"]) for s in axes_of(entry).values()])
        rows.append([name, entry["kind"], entry["mode"], *cells, str(seeds)])
    return header, rows


def attribution_rows(report: Report) -> tuple[list[str], list[list[str]]]:
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


def seed_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """Per system and axis (and Total): the mean over seeds, each seed's accuracy, their SD.

    No rows with one seed.
    """
    seeds = [str(s) for s in report.get("seeds", [])]
    if len(seeds) < 2:
        return [], []
    header = ["system", "axis", "mean", *[f"seed {s}" for s in seeds], "SD"]
    rows: list[list[str]] = []

    def cells(mean: float | None, by_seed: dict[str, float], sd: float | None) -> list[str]:
        values = [one_decimal(by_seed[s]) if s in by_seed else "-" for s in seeds]
        shown = "-" if mean is None else one_decimal(mean)
        return [shown, *values, "-" if sd is None else one_decimal(sd)]

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


def budget_rows(report: Report) -> tuple[list[str], list[list[str]]]:
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


def cost_rows(report: Report) -> tuple[list[str], list[list[str]]]:
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


def judge_rows(report: Report) -> tuple[list[str], list[list[str]]]:
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


def total_note(report: Report) -> str:
    """The line under every accuracy table: how Total was made, and what it leaves out."""
    text = str((report.get("total_rule") or total_rule(None))["text"])
    if "not_counted" in report:
        text += " " + report["not_counted"]["text"]
    return text


def csv_sections(report: Report) -> list[tuple[str, tuple[list[str], list[list[str]]]]]:
    """What the CSV adds under the accuracy table, each after a blank row and a `# title` row.

    With several seeds, accuracy as mean and SD over seeds; with several judges, the paired
    comparisons with the interval over instances, seeds and judges. Nothing for a run of one
    seed and one judge, whose CSV stays the one accuracy table.
    """
    sections = []
    head, body = mean_sd_rows(report)
    if body:
        split = ["system", "kind", "mode"]
        split += [f"{c} {part}" for c in ("UEG", "GEU", "Total") for part in ("mean", "SD")]
        rows = [
            [*row[:3], *[x for cell in row[3:6] for x in _mean_and_sd(cell)], row[6]]
            for row in body
        ]
        sections.append(("accuracy, mean and SD over run seeds", ([*split, "seeds"], rows)))
    if any("ci95_all_judges" in p for p in report["paired"]):
        sections.append(("paired comparisons", paired_rows(report["paired"], None)))
    sections += [(t.lower(), rows) for t, rows in channel_tables.sections(report) if rows[1]]
    head, body = unimmmu.leaderboard_rows(report)
    if body:
        sections.append((unimmmu.TITLE, (head, body)))
    return sections


def _mean_and_sd(cell: str) -> list[str]:
    mean, _, sd = cell.partition(" ± ")
    return [mean, sd or "-"]


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GFM table; every cell is literal text (a `|`, a line break or HTML in a name too)."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(map(markdown_text, cells)) + " |"

    return [line(header), "|" + "---|" * len(header), *map(line, rows)]


def render(report: Report, fmt: str, store: RunStore | None = None) -> str:
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
        # What the numbers were read with, as every other format says it: two last columns,
        # so that the table stays one table for a spreadsheet or pandas.
        read_with = [report["parser"], report["judge"]]
        writer.writerow(safe_row([*header, "parser", "UEG judge"]))  # never a formula
        writer.writerows(safe_row([*row, *read_with]) for row in rows)
        for title, (head, body) in csv_sections(report):
            writer.writerows([[], [f"# {title}"], safe_row(head)])
            writer.writerows(safe_row(row) for row in body)
        return buffer.getvalue()
    if fmt == "markdown":
        lines = _markdown(header, rows)
        lines.append("")
        lines.append(total_note(report))
        if report.get("selection"):
            lines += ["", str(report.get("selection"))]
        lines.append("")
        lines.append(f"Parser: {report['parser']}; UEG judge: {markdown_text(report['judge'])}.")
        for name, entry in report["systems"].items():
            if "self_preference" in entry:
                note = markdown_text(entry["self_preference"])
                lines.append(f"- self-preference: {markdown_text(name)} is {note}.")
        for comparison in report["comparisons"]:
            lines.append(
                f"- {comparison['comparison']}: {markdown_text(comparison['a'])} vs "
                f"{markdown_text(comparison['b'])}, "
                f"{comparison['axis']} {comparison['delta']:+.1f}"
            )
        for title, (head, body) in (
            ("Accuracy, mean ± SD over run seeds", mean_sd_rows(report)),
            ("Accuracy by run seed", seed_rows(report)),
            (
                "Paired comparisons (shared instances; exact McNemar / sign-test p)",
                paired_rows(report["paired"], None),
            ),
            ("Budget per instance and per correct answer", budget_rows(report)),
            ("Stage attribution", attribution_rows(report)),
            ("Latency and cost", cost_rows(report)),
            ("Judges: agreement on UEG", judge_rows(report)),
            *channel_tables.sections(report),
            (unimmmu.TITLE, unimmmu.leaderboard_rows(report)),
        ):
            if body:
                lines += ["", f"### {title}", "", *_markdown(head, body)]
        if unimmmu.notes(report):
            lines += ["", *(f"- {markdown_text(line)}" for line in unimmmu.notes(report))]
        if store is not None:  # which outputs failed or were refused, as the table lists them
            from composer.report.failures import failure_lines, markdown_failures

            lines += markdown_failures(failure_lines(store, judge=report.get("judge_id")))
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
