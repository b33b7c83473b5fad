"""Which paired comparisons answer the question composer exists for, and which are the rest.

"Does integration help?" is answered by two kinds of pair: each composed system against each
unified one (composition gain), and each unified model run stepwise against the same model run
direct (integration gap). `split_pairs` puts those first, oriented so that A is the composed
(or stepwise) system, and leaves every other pair (specialist against specialist, composed
against composed) for `--all-pairs` or the HTML report's folded list.
"""

from __future__ import annotations

from typing import Any

from composer.report.model import Report

QUESTION_LABELS = {
    "integration gap (stepwise - direct)": "stepwise - direct",
    "composition gain (composed - unified)": "composed - unified",
}
"""The `comparisons` labels whose pairs answer the question, and their short names."""


def question_pairs(report: Report) -> list[tuple[str, str, str]]:
    """(a, b, short label) of each pair that answers the question, in the report's order."""
    seen: dict[tuple[str, str], str] = {}
    for row in report.get("comparisons", []):
        label = QUESTION_LABELS.get(row["comparison"])
        if label is not None:
            seen.setdefault((row["a"], row["b"]), label)
    return [(a, b, label) for (a, b), label in seen.items()]


def oriented(pair: dict[str, Any]) -> dict[str, Any]:
    """The same paired comparison read the other way round (B - A instead of A - B)."""
    low, high = pair["ci95"]
    flipped: dict[str, Any] = {}
    if isinstance(pair.get("spend"), dict):  # (A's, B's, A / B) per measure
        flipped["spend"] = {
            key: [b, a, (1.0 / ratio if ratio else None)]
            for key, (a, b, ratio) in pair["spend"].items()
        }
    if pair.get("ci95_all_judges"):  # the interval over judges turns round too
        judged_low, judged_high = pair["ci95_all_judges"]
        flipped["ci95_all_judges"] = [0.0 - judged_high, 0.0 - judged_low]
    if pair.get("difference_all_judges") is not None:
        flipped["difference_all_judges"] = 0.0 - pair["difference_all_judges"]
    return {
        **pair,
        **flipped,
        "a": pair["b"],
        "b": pair["a"],
        "only_a": pair["only_b"],
        "only_b": pair["only_a"],
        "accuracy_a": pair["accuracy_b"],
        "accuracy_b": pair["accuracy_a"],
        "difference": 0.0 - pair["difference"],  # 0.0 - x: a zero stays +0.0
        "ci95": [0.0 - high, 0.0 - low],
    }


def split_pairs(report: Report) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The paired rows that answer the question (with a `question` key), then all the others.

    Example:
        >>> leading, rest = split_pairs({"comparisons": [], "paired": []})
        >>> leading, rest
        ([], [])
    """
    wanted = question_pairs(report)
    rows = list(report.get("paired", []))
    used: set[int] = set()
    leading: list[dict[str, Any]] = []
    for a, b, label in wanted:
        for k, row in enumerate(rows):
            if (row["a"], row["b"]) == (a, b):
                leading.append({**row, "question": label})
            elif (row["a"], row["b"]) == (b, a):
                leading.append({**oriented(row), "question": label})
            else:
                continue
            used.add(k)
    rest = [row for k, row in enumerate(rows) if k not in used]
    return leading, rest


def p_text(value: float) -> str:
    """A p-value that cannot be misread when cut: `0.012`, `3.5e-15`, or `< 1e-300`.

    Example:
        >>> p_text(3.5e-15), p_text(0.0123), p_text(0.0)
        ('3.5e-15', '0.012', '< 1e-300')
    """
    if value <= 0.0:
        return "< 1e-300"
    if value < 0.001:
        return f"{value:.1e}"
    return f"{value:.3f}"
