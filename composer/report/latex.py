r"""The report as LaTeX tables for a paper: booktabs rules, every name escaped.

`latex(report)` returns two `table` floats: accuracy per system (categories, axes and Total;
with several run seeds each axis and Total is mean $\pm$ SD over seeds) and the paired
comparisons that answer the run's question (difference, the 95% interval over instances and
seeds, and with several judges the interval over instances, seeds and judges). The preamble
needs `\usepackage{booktabs}`; nothing else.

Example:
    >>> escape("oracle_v2 & 50% #1")
    'oracle\\_v2 \\& 50\\% \\#1'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from composer.report.model import AXES, Report, axis_of
from composer.report.pairs import split_pairs
from composer.report.tables import interval_text, mean_sd, table_rows, total_note

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
_PATTERN = re.compile("|".join(re.escape(c) for c in _SPECIAL))
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def escape(text: str) -> str:
    """`text` as LaTeX prints it: the ten special characters (and `<`, `>`, `|`) escaped."""
    text = "".join(c if c in "\n\t" or c.isprintable() else " " for c in str(text))
    return _PATTERN.sub(lambda m: _SPECIAL[m.group()], text)


def _cell(text: str) -> str:
    r"""A table cell: numbers with a true minus sign, `±` as `$\pm$`, the rest escaped."""
    if _NUMBER.match(text):
        return text.replace("-", "$-$", 1) if text.startswith("-") else text
    parts = [escape(part) for part in text.split(" ± ")]
    return r" $\pm$ ".join(parts).replace("[-", "[$-$").replace(", -", ", $-$")


def tabular(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, text_columns: int = 1
) -> list[str]:
    """A booktabs `tabular`: the first `text_columns` left-aligned, the rest right-aligned."""
    spec = "l" * text_columns + "r" * (len(header) - text_columns)
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines.append(" & ".join(escape(h) for h in header) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(_cell(c) for c in row) + r" \\" for row in rows]
    return [*lines, r"\bottomrule", r"\end{tabular}"]


def _float(caption: str, label: str, body: list[str]) -> list[str]:
    return [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{caption}}}",
        rf"\label{{{label}}}",
        *body,
        r"\end{table}",
    ]


def accuracy_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """The accuracy table, axes and Total as mean ± SD over run seeds where there are several."""
    header, rows = table_rows(report)
    header = header[: header.index("Total") + 1]
    several = len(report.get("seeds", [])) > 1
    out = []
    for row, entry in zip(rows, report["systems"].values(), strict=True):
        cells = row[: len(header)]
        if several:
            for axis in AXES:
                data = axis_of(entry, axis)
                if data is not None and axis in header:
                    values = list(data["by_seed"].values())
                    cells[header.index(axis)] = mean_sd(data["accuracy"], values)
            totals = list((entry.get("total_by_seed") or {}).values())
            if entry["total"] is not None:
                cells[header.index("Total")] = mean_sd(entry["total"], totals)
        out.append(cells)
    return header, out


def paired_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """The pairs that answer the question: difference, intervals and p, per scope."""
    leading, _ = split_pairs(report)
    judged = any("ci95_all_judges" in p for p in leading)
    header = ["A", "B", "scope", "n", "A - B", "95% CI"]
    header += ["95% CI, all judges"] if judged else []
    header.append("p")
    rows = []
    for p in leading:
        row = [p["a"], p["b"], p["scope"], str(p["n"]), f"{p['difference']:+.1f}"]
        row.append(interval_text(p["ci95"]))
        if judged:
            row.append(interval_text(p.get("ci95_all_judges")))
        row.append("<0.001" if p["p_value"] < 0.001 else f"{p['p_value']:.3f}")
        rows.append(row)
    return header, rows


def _noise(pairs: Sequence[Mapping[str, Any]]) -> str:
    kinds = sorted({str(p.get("noise", "instances")) for p in pairs})
    judged = sorted({str(p["noise_all_judges"]) for p in pairs if p.get("noise_all_judges")})
    text = f"95\\% CI: bootstrap over {escape(', '.join(kinds) or 'instances')}"
    if judged:
        text += f"; all judges: over {escape(', '.join(judged))}"
    return text


def latex(report: Report, run_name: str = "") -> str:
    """The report's accuracy and paired-comparison tables as LaTeX (booktabs)."""
    seeds = report.get("seeds", [])
    spread = (
        rf" Axes and Total: mean $\pm$ SD over {len(seeds)} run seeds." if len(seeds) > 1 else ""
    )
    where = f" ({escape(run_name)})" if run_name else ""
    caption = (
        f"Accuracy (\\%){where}, {escape(report['parser'])} parser, UEG judge "
        f"{escape(report['judge'] or '-')}.{spread} {escape(total_note(report))}"
    )
    if report.get("selection"):
        caption += " " + escape(str(report.get("selection")))
    header, rows = accuracy_rows(report)
    lines = [
        "% composer report: needs \\usepackage{booktabs}",
        *_float(caption, "tab:composer-accuracy", tabular(header, rows, text_columns=3)),
    ]
    header, rows = paired_table(report)
    if rows:
        leading, _ = split_pairs(report)
        caption = (
            "Paired comparisons on shared instances: A $-$ B in accuracy points; "
            f"{_noise(leading)}; p: exact McNemar test (sign test with several seeds)."
        )
        lines += [
            "",
            *_float(caption, "tab:composer-paired", tabular(header, rows, text_columns=3)),
        ]
    return "\n".join(lines) + "\n"
