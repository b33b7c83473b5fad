"""Per-task aggregates under the keys the release writes into each task's summary file.

`summarize(task, rows, reading)` takes one `Channels` dict per row and returns what the
release's `summarize()` writes for that task (`eval/<model>/<task>/summary.json` for maze,
sliding and jigsaw; `eval_summary.json` for geometry, science and code), computed the same
way (means in float64 as pandas and NumPy take them; counts as integers; 0 for an empty
denominator where the release writes 0). `official` reads each channel's official value and
drops rows where it is None; `strict` reads the strict value, and adds `unscored`, the count
of rows each channel could not score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from composer.benchmarks.unimmmu.channels import Channels
from composer.benchmarks.unimmmu.records import Task

Reading = Literal["official", "strict"]

MAZE_KEYS = {
    "text_accuracy_exact": "text_exact",
    "text_accuracy_frame_macro": "text_frame_acc",
    "img_accuracy_exact": "img_exact",
    "img_accuracy_frame_macro": "img_frame_acc",
    "parse_accuracy_all_ok": "parse_all_ok",
    "parse_accuracy_frame_macro": "parse_frame_success",
}
"""Maze `summary.json` key -> channel (sliding has the first four)."""


def _value(channels: Channels, name: str, reading: Reading) -> float | None:
    channel = channels.get(name)
    return None if channel is None else getattr(channel, reading)


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(np.asarray(kept, dtype=np.float64))) if kept else None


def _unscored(rows: Sequence[Channels], names: Sequence[str], reading: Reading) -> dict[str, int]:
    return {n: sum(1 for r in rows if _value(r, n, reading) is None) for n in names}


def _steps(task: Task, rows: Sequence[Channels], reading: Reading) -> dict[str, Any] | None:
    keys = dict(list(MAZE_KEYS.items())[: 6 if task is Task.MAZE else 4])
    if reading == "official":
        rows = [r for r in rows if _value(r, "text_exact", reading) is not None]
    if not rows:
        return None
    summary: dict[str, Any] = {"total_candidates": len(rows)}
    for key, name in keys.items():
        summary[key] = _mean([_value(r, name, reading) for r in rows])
    if reading == "strict":
        summary["unscored"] = _unscored(rows, list(keys.values()), reading)
    return summary


def _jigsaw(rows: Sequence[Channels], reading: Reading) -> dict[str, Any] | None:
    rows = [r for r in rows if _value(r, "text_correct", reading) is not None]
    if not rows:
        return None
    distances = [_value(r, "d_mean", reading) for r in rows]
    # Officially every item has a distance (DreamSim runs or the release refuses to start).
    complete = reading == "strict" or all(d is not None for d in distances)
    mean_distance = _mean(distances) if complete else None
    summary: dict[str, Any] = {
        "counts": {
            "total_items": len(rows),
            "image_ok": sum(1 for r in rows if "d_mean" in r and r["d_mean"].note == "ok"),
            "text_parsed": sum(1 for r in rows if r["text_correct"].note == "ok"),
        },
        "metrics": {
            "mean_distance_penalized": mean_distance,
            "image_score_penalized": None if mean_distance is None else 1.0 - mean_distance,
            "text_accuracy": _mean([_value(r, "text_correct", reading) for r in rows]) or 0.0,
        },
    }
    if reading == "strict" or mean_distance is None:
        summary["unscored"] = _unscored(rows, ["text_correct", "d_mean"], reading)
    return summary


def _count(rows: Sequence[Channels], name: str, reading: Reading) -> int:
    return int(sum(_value(r, name, reading) or 0.0 for r in rows))


def _geometry(rows: Sequence[Channels], reading: Reading) -> dict[str, Any] | None:
    if not rows:
        return None
    scored = sum(1 for r in rows if _value(r, "text_ok", reading) is not None)
    summary: dict[str, Any] = {
        "total_items": len(rows),
        "scored_items": scored,
        "ok_overlay": _count(rows, "overlay_ok", reading),
        "ok_text": _count(rows, "text_ok", reading),
    }
    summary["overlay_acc"] = summary["ok_overlay"] / scored if scored > 0 else 0
    summary["text_acc"] = summary["ok_text"] / scored if scored > 0 else 0
    if reading == "strict":
        summary["unscored"] = _unscored(rows, ["overlay_ok", "text_ok"], reading)
    return summary


_SCIENCE = {
    "text_reasoning": "reasoning_correct",
    "text_result": "result_correct",
    "image": "image_correct",
}


def _science(rows: Sequence[Channels], reading: Reading) -> dict[str, Any] | None:
    if not rows:
        return None
    total = len(rows)
    summary: dict[str, Any] = {"total_cases": total}
    for key, name in _SCIENCE.items():
        summary[f"{key}_correct" if key != "image" else "image_correct"] = _count(
            rows, name, reading
        )
    for key, name in _SCIENCE.items():
        summary[f"{key}_acc"] = _count(rows, name, reading) / total
    if reading == "strict":
        summary["unscored"] = _unscored(rows, list(_SCIENCE.values()), reading)
    return summary


_CODE = {
    "image_match_binary_rate": "image_match",
    "avg_shape_color_accuracy": "shape_color_accuracy",
    "avg_position_accuracy": "position_accuracy",
    "text_semantic_match_rate": "text_semantic_match",
}


def _code(rows: Sequence[Channels], reading: Reading) -> dict[str, Any] | None:
    if not rows:
        return None
    summary: dict[str, Any] = {"total_cases": len(rows)}
    for key, name in _CODE.items():
        values = [_value(r, name, reading) for r in rows]
        # The release averages every row (a missing value is 0); strict averages scored rows.
        kept = values if reading == "strict" else [v or 0.0 for v in values]
        summary[key] = _mean(kept) if any(v is not None for v in kept) else 0.0
    if reading == "strict":
        summary["unscored"] = _unscored(rows, list(_CODE.values()), reading)
    return summary


def summarize(task: Task, rows: Sequence[Channels], reading: Reading) -> dict[str, Any] | None:
    """The task's summary under the release's keys; None where the release writes none.

    Args:
        task: The task.
        rows: One `Channels` per row (maze and sliding: per candidate; others: per case).
        reading: "official" or "strict" (see the module docstring).
    """
    if task in (Task.MAZE, Task.SLIDING):
        return _steps(task, rows, reading)
    if task is Task.JIGSAW:
        return _jigsaw(rows, reading)
    if task is Task.GEOMETRY:
        return _geometry(rows, reading)
    if task is Task.SCIENCE:
        return _science(rows, reading)
    return _code(rows, reading)
