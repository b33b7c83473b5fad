"""The report as flat records, one dict per row: what a DataFrame or a spreadsheet takes.

`report_records` gives one record per system and scope (each category, each axis mean, and
Total) with its accuracy under both parsers and, over several run seeds, the SD; and
`paired_records` one per paired comparison and scope, with both intervals (over instances and
seeds; with several judges, over judges too).
"""

from __future__ import annotations

from typing import Any

from composer.report.model import AXES, Report, axis_of, categories_of
from composer.report.summary import total_rule, total_under


def _sd(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return float((sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5)


def report_records(report: Report) -> list[dict[str, Any]]:
    """One record per (system, scope): accuracy (headline parser), both parsers, SD, n.

    `scope` is a category name, an axis (`UEG`, `GEU`: the mean of its categories) or
    `Total`; `axis` is the axis the scope belongs to (Total: None); `sd` is the sample SD over
    run seeds (None for a category, or with one seed).
    """
    rule = report.get("total_rule") or total_rule(None)
    records: list[dict[str, Any]] = []
    for name, entry in report["systems"].items():
        base = {"system": name, "kind": entry["kind"], "mode": entry["mode"]}
        for axis in AXES:
            data = axis_of(entry, axis)
            if data is None:
                continue
            official = categories_of(data, "official")
            strict = categories_of(data, "strict")
            for category, value in data["by_category"].items():
                counts = data["category_counts"].get(category)
                records.append(
                    {
                        **base,
                        "axis": axis,
                        "scope": category,
                        "accuracy": value,
                        "accuracy_official": official.get(category),
                        "accuracy_strict": strict.get(category),
                        "sd": None,
                        "n": counts["n"] if counts else None,
                    }
                )
            records.append(
                {
                    **base,
                    "axis": axis,
                    "scope": axis,
                    "accuracy": data["accuracy"],
                    "accuracy_official": data["accuracy_official"],
                    "accuracy_strict": data["accuracy_strict"],
                    "sd": _sd(list(data["by_seed"].values())),
                    "n": data["counts"]["n"],
                }
            )
        if entry["total"] is not None:
            records.append(
                {
                    **base,
                    "axis": None,
                    "scope": "Total",
                    "accuracy": entry["total"],
                    "accuracy_official": total_under(entry, rule, "official"),
                    "accuracy_strict": total_under(entry, rule, "strict"),
                    "sd": _sd(list((entry.get("total_by_seed") or {}).values())),
                    "n": sum(s["counts"]["n"] for a in AXES if (s := axis_of(entry, a))),
                }
            )
    return records


def paired_records(report: Report) -> list[dict[str, Any]]:
    """One record per paired comparison and scope, its intervals as low and high columns."""
    records = []
    for p in report["paired"]:
        judged = p.get("ci95_all_judges") or [None, None]
        records.append(
            {
                "a": p["a"],
                "b": p["b"],
                "scope": p["scope"],
                "n": p["n"],
                "accuracy_a": p["accuracy_a"],
                "accuracy_b": p["accuracy_b"],
                "difference": p["difference"],
                "ci95_low": p["ci95"][0],
                "ci95_high": p["ci95"][1],
                "noise": p.get("noise", "instances"),
                "difference_all_judges": p.get("difference_all_judges"),
                "ci95_all_judges_low": judged[0],
                "ci95_all_judges_high": judged[1],
                "p_value": p["p_value"],
            }
        )
    return records
