"""Reports in a terminal: tables that fit the console and never cut a name or a number.

Each table is offered in layouts from widest to narrowest (the one wide accuracy table as in a
file; then a UEG table, a GEU table and a summary; then category columns in chunks) and the
first whose natural width fits the console is printed. Numbers never wrap; names wrap (fold)
only when even the narrowest layout is too wide, and nothing is replaced by `…`. A piped report
gets a wide console (see `composer.cli`), so it keeps the one wide table.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from composer.benchmarks.catalog import CATEGORY_ABBREV, GEU_CATEGORIES, UEG_CATEGORIES
from composer.core.instance import Parser
from composer.report import unimmmu
from composer.report.budget import spend_note
from composer.report.channel_tables import terminal_tables
from composer.report.model import (
    AXES,
    AxisName,
    Report,
    accuracy_of,
    axes_of,
    axis_of,
    categories_of,
    count_cells,
    other_parser,
)
from composer.report.numbers import one_decimal
from composer.report.pairs import p_text, split_pairs
from composer.report.safe_text import literal, printable
from composer.report.summary import total_under
from composer.report.tables import (
    interval_text,
    judge_rows,
    mean_sd_rows,
    seed_rows,
    table_rows,
    total_note,
)

Kind = Literal["name", "text", "number"]
_ORDER = {c: i for i, c in enumerate(UEG_CATEGORIES + GEU_CATEGORIES)}
PAIRED_CAPTION = (
    "A - B: accuracy points on the instances both ran; 95% CI: paired bootstrap (seed {seed}); "
    "p: exact McNemar test, two-sided (with several run seeds: exact sign test on the "
    "per-instance pass rates, and a cluster bootstrap, as each pair says)."
)


@dataclass(frozen=True)
class Grid:
    """A table before layout: a title, (header, kind) columns and rows of strings."""

    title: str
    columns: Sequence[tuple[str, Kind]]
    rows: Sequence[Sequence[str]]
    caption: str | None = None
    title_width: int | None = None
    """Break the title into lines of at most this many characters, only between its
    comma-separated phrases ("judge X, bootstrap seed 0" never breaks inside "seed 0")."""

    def table(self) -> Table:
        """The rich table: numbers right-aligned and never wrapped, names folded if need be."""
        lines = phrase_lines(self.title, self.title_width) if self.title_width else [self.title]
        table = Table(
            # The title may hold a judge's or a system's name: each line is shown literally.
            title="\n".join(literal(line) for line in lines),
            caption=None if self.caption is None else literal(self.caption),
            box=box.SIMPLE_HEAD,
            title_justify="left",
            caption_justify="left",
            show_edge=False,
        )
        for i, (header, kind) in enumerate(self.columns):
            width = max([len(printable(header)), *(len(printable(row[i])) for row in self.rows)])
            header = literal(header)
            if kind == "number":
                table.add_column(
                    header, justify="right", no_wrap=True, min_width=width, overflow="fold"
                )
            else:
                table.add_column(header, overflow="fold", no_wrap=False)
        for row in self.rows:
            table.add_row(*map(literal, row))  # names from files: printable, on one line
        return table


def phrase_lines(title: str, width: int) -> list[str]:
    """`title` in lines of at most `width` characters, broken only after a phrase's comma.

    Example:
        >>> phrase_lines("a (A) vs b (B), parser official, bootstrap seed 0", 32)
        ['a (A) vs b (B), parser official,', 'bootstrap seed 0']
    """
    lines: list[str] = []
    line = ""
    for phrase in title.split(", "):
        joined = f"{line}, {phrase}" if line else phrase
        if line and len(joined) + 1 > width:  # + 1: the comma that would end the line
            lines.append(f"{line},")
            line = phrase
        else:
            line = joined
    return [*lines, line]


def natural_width(console: Console, grid: Grid) -> int:
    """The width `grid` takes with nothing wrapped."""
    options = console.options.update(max_width=100_000, width=100_000)
    return Measurement.get(console, options, grid.table()).maximum


def print_fitted(console: Console, layouts: Sequence[Sequence[Grid]]) -> None:
    """Print the first layout whose every table fits the console (else the last one)."""
    chosen = layouts[-1]
    for layout in layouts:
        if all(natural_width(console, g) <= console.width for g in layout):
            chosen = layout
            break
    for grid in chosen:
        if grid.title and grid.title_width is None:
            width = min(natural_width(console, grid), console.width)
            grid = dataclasses.replace(grid, title_width=width)
        console.print(grid.table())


def abbreviations(categories: Sequence[str]) -> dict[str, str]:
    """A short, unique column header per category: RealUnify's abbreviations, else a short form.

    A name of 6 characters or fewer stays; a longer one of several words becomes its initials,
    of one word its first 4 letters; a clash takes a number.

    Example:
        >>> abbreviations(["world_knowledge", "charts", "geometry_proofs", "culture", "counting"])
        {'world_knowledge': 'WK', 'charts': 'charts', 'geometry_proofs': 'GP', 'culture': 'Cult', 'counting': 'Coun'}
    """  # noqa: E501 - a doctest line
    out: dict[str, str] = {}
    for category in categories:
        short = CATEGORY_ABBREV.get(category)
        if short is None:
            words = [w for w in re.split(r"[\s_\-/]+", category) if w]
            if len(category) <= 6:
                short = category
            elif len(words) > 1:
                short = "".join(w[0] for w in words).upper()
            else:
                short = category[:4].capitalize()
            short = short or category[:6]
        base, k = short, 2
        while short in out.values():
            short, k = f"{base}{k}", k + 1
        out[category] = short
    return out


def _present(report: Report, axis: str) -> list[str]:
    found: set[str] = set()
    for entry in report["systems"].values():
        if (summary := axis_of(entry, axis)) is not None:
            found.update(summary["by_category"])
    return sorted(found, key=lambda c: (_ORDER.get(c, 99), c))


def _value(value: float | None) -> str:
    return "-" if value is None else one_decimal(value)


def _axis_grids(
    report: Report, axis: AxisName, other: Parser | None, title: str, width: int, chunked: bool
) -> list[Grid]:
    categories = _present(report, axis)
    if not categories:
        return []
    # Both axes' categories together: one header never names two categories in the legend.
    short = abbreviations(_present(report, "UEG") + _present(report, "GEU"))
    summaries = {n: s for n, e in report["systems"].items() if (s := axis_of(e, axis))}
    chunks = [categories]
    if chunked:
        # Columns of at most 5 figures ("100.0") and 3 separators each, after the name column.
        room = max(1, (width - max(len(n) for n in summaries) - 3 - 8) // 8)
        chunks = [categories[i : i + room] for i in range(0, len(categories), room)]
    grids = []
    for k, chunk in enumerate(chunks):
        last = k == len(chunks) - 1
        columns: list[tuple[str, Kind]] = [("system", "name")]
        columns += [(short[c], "number") for c in chunk]
        if last:
            columns.append((f"{axis} mean", "number"))
        rows = []
        for name, data in summaries.items():
            cells = [_value(categories_of(data, other).get(c)) for c in chunk]
            if last:
                cells.append(_value(accuracy_of(data, other)))
            rows.append([name, *cells])
        part = f" ({k + 1} of {len(chunks)})" if len(chunks) > 1 else ""
        grids.append(Grid(f"{axis} {title}{part}" if k == 0 else f"{axis}{part}", columns, rows))
    return grids


def _summary_grid(report: Report, parser: Parser | None, title: str) -> Grid:
    other = other_parser(report, parser)
    rule = report.get("total_rule")
    columns: list[tuple[str, Kind]] = [("system", "name"), ("kind, mode", "text")]
    columns += [(h, "number") for h in ("UEG", "GEU", "Total", "n", "failed", "unscored")]
    rows = []
    for name, entry in report["systems"].items():
        axes = axes_of(entry)
        rows.append(
            [
                name,
                f"{entry['kind']}, {entry['mode']}",
                *(_value(accuracy_of(axes[a], other)) if a in axes else "-" for a in AXES),
                _value(total_under(entry, rule, other)),
                *count_cells(entry),
            ]
        )
    return Grid(f"summary, {title}", columns, rows)


def accuracy_layouts(report: Report, width: int, parser: Parser | None = None) -> list[list[Grid]]:
    """The accuracy table in three layouts: one wide table; per axis plus a summary; chunked."""
    used = parser or report["parser"]
    other = other_parser(report, parser)
    title = f"accuracy % (parser: {used}, judge: {report['judge'] or '-'})"
    header, rows = table_rows(report, parser)
    kinds: list[Kind] = ["name", "text", "text"]
    kinds += ["number"] * (len(header) - 3)
    wide = [Grid(title, list(zip(header, kinds, strict=True)), rows)]
    layouts = [wide]
    for chunked in (False, True):
        grids = _axis_grids(report, "UEG", other, title, width, chunked)
        grids += _axis_grids(report, "GEU", other, title, width, chunked)
        layouts.append([*grids, _summary_grid(report, parser, title)])
    return layouts


def legend(report: Report) -> str:
    """The category abbreviations used as headers, spelled out."""
    categories = _present(report, "UEG") + _present(report, "GEU")
    short = abbreviations(categories)
    return "; ".join(f"{short[c]} = {c.replace('_', ' ')}" for c in categories if short[c] != c)


def print_accuracy(console: Console, report: Report) -> None:
    """The accuracy tables, how Total is made, the legend, and the other parser's numbers."""
    print_fitted(console, accuracy_layouts(report, console.width))
    console.print(f"  {literal(total_note(report))}", highlight=False)
    if report.get("selection"):
        console.print(f"  [yellow]{literal(str(report.get('selection')))}[/]", highlight=False)
    if text := legend(report):
        console.print(f"  Categories: {literal(text)}.", highlight=False)
    other: Parser = "strict" if report["parser"] == "official" else "official"
    if table_rows(report, other)[1] == table_rows(report)[1]:
        console.print(f"  {other} parser: every number is the same as above.", highlight=False)
    else:
        grid = _summary_grid(report, other, f"accuracy % (parser: {other})")
        print_fitted(console, [[grid]])


def paired_grid(
    title: str, rows: Sequence[dict[str, Any]], seed: int, *, judges_column: bool = True
) -> Grid:
    """Paired comparisons as a table: a line naming each pair, then one row per scope.

    With several judges, the interval over instances, seeds and judges in its own column
    (unless `judges_column` is False: `judges_grid` then shows it in a table of its own).
    """
    judged = judges_column and any("ci95_all_judges" in p for p in rows)
    names = ("n", "A %", "B %", "A - B", "95% CI", *(["CI all judges"] if judged else []), "p")
    columns: list[tuple[str, Kind]] = [("A vs B, scope", "name")]
    columns += [(h, "number") for h in names]
    blank = [""] * len(names)
    body: list[list[str]] = []
    last: tuple[str, str] | None = None
    for p in rows:
        if (p["a"], p["b"]) != last:
            last = (p["a"], p["b"])
            body.append([f"{p['a']} vs {p['b']}", *blank])
            if p.get("noise", "instances") != "instances":
                body.append([f"  (CI over {p['noise']}; p: sign test)", *blank])
            if judged and p.get("noise_all_judges"):
                body.append([f"  (CI all judges: over {p['noise_all_judges']})", *blank])
            if p.get("spend"):
                body.append([f"  (spend: {spend_note(p['spend'])})", *blank])
        body.append(
            [
                f"  {p['scope']}",
                str(p["n"]),
                one_decimal(p["accuracy_a"]),
                one_decimal(p["accuracy_b"]),
                f"{p['difference']:+.1f}",
                interval_text(p["ci95"]),
                *([interval_text(p.get("ci95_all_judges"))] if judged else []),
                p_text(p["p_value"]),
            ]
        )
    return Grid(title, columns, body, PAIRED_CAPTION.format(seed=seed))


def judges_grid(rows: Sequence[dict[str, Any]]) -> Grid | None:
    """With several judges: each pair's difference averaged over judges and its interval."""
    judged = [p for p in rows if "ci95_all_judges" in p]
    if not judged:
        return None
    columns: list[tuple[str, Kind]] = [("A vs B, scope", "name")]
    columns += [("A - B (all judges)", "number"), ("95% CI (all judges)", "number")]
    body = [
        [
            f"{p['a']} vs {p['b']}, {p['scope']}",
            "-" if p.get("difference_all_judges") is None else f"{p['difference_all_judges']:+.1f}",
            interval_text(p.get("ci95_all_judges")),
        ]
        for p in judged
    ]
    noise = judged[0].get("noise_all_judges") or "instances + seeds + judges"
    return Grid("the same pairs over every judge", columns, body, f"95% CI over {noise}.")


def _paired_layouts(title: str, rows: Sequence[dict[str, Any]], seed: int) -> list[list[Grid]]:
    """One table with the judges' interval as a column, else two narrower tables."""
    narrow = [paired_grid(title, rows, seed, judges_column=False)]
    if (judges := judges_grid(rows)) is not None:
        narrow.append(judges)
    return [[paired_grid(title, rows, seed)], narrow]


def _axis_means(console: Console, report: Report) -> None:
    groups: dict[str, dict[tuple[str, str], list[str]]] = {}
    for c in report["comparisons"]:
        pair = groups.setdefault(c["comparison"], {}).setdefault((c["a"], c["b"]), [])
        pair.append(f"{c['axis']} {c['delta']:+.1f}")
    if not groups:
        return
    console.print("  Differences of the tables' axis means (mean of categories):", highlight=False)
    for label, pairs in groups.items():
        console.print(f"  {literal(label)}", highlight=False)
        for (a, b), deltas in pairs.items():
            console.print(
                f"    [bold]{literal(a)}[/] vs {literal(b)}: {', '.join(deltas)}", highlight=False
            )


def print_pairs(console: Console, report: Report, *, all_pairs: bool = False) -> None:
    """The pairs that answer "does integration help?" first; the others with `all_pairs`."""
    leading, rest = split_pairs(report)
    seed = report.get("seed", 0)
    for question in ("stepwise - direct", "composed - unified"):
        rows = [p for p in leading if p["question"] == question]
        if rows:
            title = f"does integration help? {question}, paired on shared instances"
            print_fitted(console, _paired_layouts(title, rows, seed))
    if not leading:
        console.print(
            "  No pair answers 'does integration help?': the run has no composed and unified "
            "systems, nor one unified model run stepwise and direct.",
            highlight=False,
        )
    _axis_means(console, report)
    if rest and all_pairs:
        print_fitted(console, _paired_layouts("every other pair", rest, seed))
    elif rest:
        count = len({(p["a"], p["b"]) for p in rest})
        pairs = "1 other pair" if count == 1 else f"{count} other pairs"
        console.print(
            f"  {pairs} (specialists, composed against composed): add --all-pairs to list them.",
            highlight=False,
        )


def judge_layouts(report: Report) -> list[list[Grid]]:
    """The judges' agreement: wide with names, or narrow with J1, J2... and a legend."""
    title = "judges: agreement on UEG (official readings; bootstrap 95% CI)"
    header, rows = judge_rows(report)
    kinds: list[Kind] = ["name", "name", "text"]
    kinds += ["number"] * (len(header) - 3)
    wide = Grid(title, list(zip(header, kinds, strict=True)), rows)
    names = list((report.get("judges") or {}).get("judges", []))
    for row in rows:
        names += [n for n in row[:2] if n not in names]
    short = {n: f"J{k + 1}" for k, n in enumerate(names)}
    columns: list[tuple[str, Kind]] = [("pair", "text"), ("level", "text")]
    columns += [(h, "number") for h in ("n", "agreement % [95% CI]", "kappa [95% CI]")]
    narrow_rows = [
        [f"{short[r[0]]}-{short[r[1]]}", r[2], r[3], f"{r[4]} {r[5]}", f"{r[6]} {r[7]}"]
        for r in rows
    ]
    caption = "; ".join(f"{j} = {n}" for n, j in short.items())
    return [[wide], [Grid(title, columns, narrow_rows, caption)]]


def print_judges(console: Console, report: Report) -> None:
    """The judges' agreement table and the comparisons that depend on the judge."""
    if "judges" not in report:
        return
    print_fitted(console, judge_layouts(report))
    for line in report["judges"].get("notes", []):
        console.print(f"  [yellow]depends on the judge[/]: {literal(line)}", highlight=False)


def print_seeds(console: Console, report: Report) -> None:
    """With several run seeds: each system's accuracy per seed, the mean and the spread."""
    header, rows = mean_sd_rows(report)
    if not rows:
        return
    kinds: list[Kind] = ["name", "text", "text", "number", "number", "number", "number"]
    title = "accuracy %, mean ± SD over run seeds"
    caption = "mean ± sample standard deviation of the accuracies of the run seeds."
    print_fitted(console, [[Grid(title, list(zip(header, kinds, strict=True)), rows, caption)]])
    header, rows = seed_rows(report)
    kinds = ["name", "text"]
    kinds += ["number"] * (len(header) - 2)
    grid = Grid(
        "accuracy % by run seed",
        list(zip(header, kinds, strict=True)),
        rows,
        "mean: over seeds; SD: sample standard deviation of the seeds' accuracies.",
    )
    print_fitted(console, [[grid]])


def print_report(console: Console, report: Report, *, all_pairs: bool = False) -> None:
    """The whole terminal report: accuracy, warnings, the question's pairs, the judges."""
    print_accuracy(console, report)
    print_seeds(console, report)
    for name, entry in report["systems"].items():
        if "self_preference" in entry:
            note = literal(entry["self_preference"])
            console.print(
                f"  [yellow]self-preference[/]: {literal(name)} is {note}.", highlight=False
            )
    print_pairs(console, report, all_pairs=all_pairs)
    print_judges(console, report)
    print_channels(console, report)
    print_unimmmu(console, report)


def print_unimmmu(console: Console, report: Report) -> None:
    """Uni-MMMU's 14 leaderboard columns: the run's systems, then the page's rows (quoted)."""
    header, rows = unimmmu.leaderboard_rows(report)
    if not rows:
        return
    kinds: list[Kind] = ["name", "text"]
    kinds += ["number"] * (len(header) - 2)
    grid = Grid(unimmmu.TITLE, list(zip(header, kinds, strict=True)), rows)
    print_fitted(console, [[grid]])
    for line in unimmmu.notes(report):
        console.print(f"  {literal(line)}", highlight=False)


def print_channels(console: Console, report: Report) -> None:
    """The score channels: a table per axis, then the question's pairs per channel."""
    for spec in terminal_tables(report):
        print_fitted(console, [[Grid(spec.title, spec.columns, spec.rows, spec.caption)]])


def compare_layouts(title: str, rows: Sequence[Any], seed: int) -> list[list[Grid]]:
    """`composer compare`'s table (`stats.Paired` rows): one table, or counts and effect."""
    caption = PAIRED_CAPTION.format(seed=seed)
    counts = ("n", "both", "only A", "only B", "neither")
    effect = ("A %", "B %", "A - B", "95% CI", "p")
    values = [
        [
            p.scope,
            str(p.n),
            str(p.both),
            str(p.only_a),
            str(p.only_b),
            str(p.neither),
            one_decimal(p.accuracy_a),
            one_decimal(p.accuracy_b),
            f"{p.difference:+.1f}",
            f"[{p.ci_low:+.1f}, {p.ci_high:+.1f}]",
            p_text(p.p_value),
        ]
        for p in rows
    ]
    scope: list[tuple[str, Kind]] = [("scope", "text")]
    one = Grid(title, scope + [(h, "number") for h in counts + effect], values, caption)
    first = Grid(title, scope + [(h, "number") for h in counts], [v[:6] for v in values])
    second = Grid(
        "", scope + [(h, "number") for h in effect], [[v[0], *v[6:]] for v in values], caption
    )
    return [[one], [first, second]]
