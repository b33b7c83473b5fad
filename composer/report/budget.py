"""What each system spends per instance and per correct answer, and comparisons at equal cost.

A best-of-4 generator draws four images where a direct model draws one; a refine loop calls
its reasoner three times. Accuracy alone hides that, so per system the report gives model
calls, images generated, tokens and cost per instance and per correct answer (from each
result's `usage`: every call the task used, sent or replayed, as in `stats.costs`; judging is
not charged). "Per instance" is per task, one instance under one run seed. A comparison of two
systems that spend differently says by how much (`spend`), and `per_unit` gives accuracy per
image generated or per dollar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from composer.core.instance import Parser
from composer.evaluation.store import Result
from composer.report.stats import is_right

Unit = Literal["image", "usd"]
_PER_UNIT = {"image": "images_per_instance", "usd": "cost_per_instance"}


def per_system(
    costs: Mapping[str, Mapping[str, Any]], results: Iterable[Result], parser: Parser
) -> dict[str, dict[str, Any]]:
    """Per system: calls, images, tokens and cost per instance and per correct answer.

    `costs` is `stats.costs(...)` of the same results. A cost is None where no call of the
    system had a known price; a per-correct figure is None where nothing was correct.

    Example:
        >>> per_system({}, [], "official")
        {}
    """
    correct: dict[str, int] = {}
    for result in results:
        correct[result.system] = correct.get(result.system, 0) + is_right(result, parser)
    out: dict[str, dict[str, Any]] = {}
    for system, entry in costs.items():
        tasks = int(entry["tasks"]) or 1
        right = correct.get(system, 0)
        tokens = int(entry["input_tokens"]) + int(entry["output_tokens"])
        cost = entry.get("cost_usd")

        def per_right(value: float | None, right: int = right) -> float | None:
            return None if value is None or not right else value / right

        out[system] = {
            "instances": int(entry["tasks"]),
            "correct": right,
            "calls_per_instance": entry["calls"] / tasks,
            "images_per_instance": entry["images"] / tasks,
            "tokens_per_instance": tokens / tasks,
            "cost_per_instance": None if cost is None else cost / tasks,
            "calls_per_correct": per_right(entry["calls"]),
            "images_per_correct": per_right(entry["images"]),
            "tokens_per_correct": per_right(tokens),
            "cost_per_correct": per_right(cost),
        }
    return out


def spend(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, Any]:
    """How differently `a` and `b` spend per instance: {measure: [a, b, a / b]} where they differ.

    Only calls, images and cost per instance; the ratio is None where b spends nothing. A
    system that made no model call at all (an imported one: its outputs were made elsewhere)
    spent what composer cannot know, not nothing: no comparison is made with it.

    Example:
        >>> spend({"images_per_instance": 4.0}, {"images_per_instance": 1.0})
        {'images_per_instance': [4.0, 1.0, 4.0]}
        >>> spend({"calls_per_instance": 2.0}, {"calls_per_instance": 0.0})
        {}
    """
    if not a or not b or 0 in (a.get("calls_per_instance"), b.get("calls_per_instance")):
        return {}
    found: dict[str, Any] = {}
    for key in ("images_per_instance", "cost_per_instance", "calls_per_instance"):
        va, vb = a.get(key), b.get(key)
        if va is None or vb is None or abs(va - vb) <= 1e-12 * max(abs(va), abs(vb), 1.0):
            continue
        found[key] = [va, vb, va / vb if vb else None]
    return found


def spend_note(difference: Mapping[str, Any]) -> str:
    """A short text of `spend`, e.g. 'images/inst 4 vs 1 (4.0x); $/inst 0.04 vs 0.01 (4.0x)'."""
    labels = {
        "images_per_instance": ("images/inst", "{:.3g}"),
        "cost_per_instance": ("$/inst", "{:.4g}"),
        "calls_per_instance": ("calls/inst", "{:.3g}"),
    }
    parts = []
    for key, (label, form) in labels.items():
        if key in difference:
            va, vb, ratio = difference[key]
            times = f" ({ratio:.2g}x)" if ratio is not None else ""
            parts.append(f"{label} {form.format(va)} vs {form.format(vb)}{times}")
    return "; ".join(parts)


def per_unit(accuracy: float, entry: Mapping[str, Any] | None, unit: Unit) -> float | None:
    """Accuracy points per image generated (`image`) or per dollar (`usd`) per instance.

    None where the system spends none of that unit (or its price is unknown).

    Example:
        >>> per_unit(80.0, {"images_per_instance": 4.0}, "image")
        20.0
    """
    value = (entry or {}).get(_PER_UNIT[unit])
    if not value:
        return None
    return float(accuracy) / float(value)
