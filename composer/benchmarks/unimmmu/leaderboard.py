"""The 14 leaderboard columns, the project page's published rows (quoted) and composer's average.

`release_row` is the one row the release's `summarize_all_tasks` writes to
`all_tasks_summary_<model>.xlsx`: raw values (0-1, code rubrics 0-5), maze and sliding at step
level only. `table_row` is the project page's form: 0-100, maze and sliding as (step, sample),
the code rubrics x20. `PUBLISHED` quotes the page's table; its "Avg" cannot be rebuilt from
its columns by any simple mean, so composer states its own rule (`average`) and shows the
page's figure only as a quote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from composer.benchmarks.unimmmu.records import Task

Summaries = Mapping[Task, Mapping[str, Any] | None]
Cell = float | tuple[float, float] | None

RELEASE_COLUMNS: dict[str, tuple[Task, tuple[str, ...]]] = {
    "Jigsaw image score (0-1)": (Task.JIGSAW, ("metrics", "image_score_penalized")),
    "Jigsaw text Acc": (Task.JIGSAW, ("metrics", "text_accuracy")),
    "Maze img Acc (step|sample)": (Task.MAZE, ("img_accuracy_frame_macro",)),
    "Maze text Acc (step|sample)": (Task.MAZE, ("text_accuracy_frame_macro",)),
    "Sliding img acc (step|sample)": (Task.SLIDING, ("img_accuracy_frame_macro",)),
    "Sliding text Acc (step|sample)": (Task.SLIDING, ("text_accuracy_frame_macro",)),
    "math_overlay_acc": (Task.GEOMETRY, ("overlay_acc",)),
    "math_text_acc": (Task.GEOMETRY, ("text_acc",)),
    "Science text reasoning acc": (Task.SCIENCE, ("text_reasoning_acc",)),
    "Science text result acc": (Task.SCIENCE, ("text_result_acc",)),
    "Science img acc": (Task.SCIENCE, ("image_acc",)),
    "Svg text acc": (Task.CODE, ("text_semantic_match_rate",)),
    "Svg img shape color score [0-5]": (Task.CODE, ("avg_shape_color_accuracy",)),
    "Svg img pos score [0-5]": (Task.CODE, ("avg_position_accuracy",)),
}
"""The xlsx columns, in order, and where each is read from (task, keys into its summary)."""

TABLE_COLUMNS: dict[str, str] = dict(
    zip(
        [
            "Jig I", "Jig T", "Maze I", "Maze T", "Slid I", "Slid T", "Math I", "Math T",
            "Sci R", "Sci T", "Sci I", "Code T", "Code S&C", "Code Pos",
        ],
        RELEASE_COLUMNS,
        strict=True,
    )
)  # fmt: skip
"""The project page's column names -> the release's."""

_SAMPLE_KEY = {
    "img_accuracy_frame_macro": "img_accuracy_exact",
    "text_accuracy_frame_macro": "text_accuracy_exact",
}
_TASK_COLUMNS: dict[Task, list[str]] = {}
for _name, (_task, _) in RELEASE_COLUMNS.items():
    _TASK_COLUMNS.setdefault(_task, []).append(
        next(k for k, v in TABLE_COLUMNS.items() if v == _name)
    )


def _read(summary: Mapping[str, Any] | None, keys: tuple[str, ...]) -> float | None:
    value: Any = summary
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return None if value is None else float(value)


def release_row(summaries: Summaries) -> dict[str, float | None]:
    """The release's xlsx row: the 14 columns, raw, None where a task has no summary."""
    return {
        name: _read(summaries.get(task), keys) for name, (task, keys) in RELEASE_COLUMNS.items()
    }


def table_row(summaries: Summaries) -> dict[str, Cell]:
    """The project page's form of a row: 0-100; maze and sliding as (step, sample)."""
    row: dict[str, Cell] = {}
    for short, name in TABLE_COLUMNS.items():
        task, keys = RELEASE_COLUMNS[name]
        step = _read(summaries.get(task), keys)
        scale = 20.0 if task is Task.CODE and short != "Code T" else 100.0
        if task in (Task.MAZE, Task.SLIDING):
            sample = _read(summaries.get(task), (_SAMPLE_KEY[keys[0]],))
            row[short] = None if step is None or sample is None else (step * 100, sample * 100)
        else:
            row[short] = None if step is None else step * scale
    return row


AVERAGE_RULE = (
    "composer's Avg: the mean over the six tasks of the mean of each task's columns on the "
    "0-100 scale, maze and sliding at sample level (exact sequences), the code rubrics x20. "
    "It is not the project page's Avg, which no simple mean of its columns rebuilds (this rule "
    "gives 35.0, 44.9 and 23.6 for the published nano-banana, GPT4.1 + GPT-image and Bagel "
    "rows, published as 37.3, 44.1 and 22.0)."
)


def average(row: Mapping[str, Cell]) -> float | None:
    """Composer's Avg of a `table_row` (see `AVERAGE_RULE`); None when a column is missing."""
    means = []
    for columns in _TASK_COLUMNS.values():
        cells = [row.get(c) for c in columns]
        if any(cell is None for cell in cells):
            return None
        values = [cell[1] if isinstance(cell, tuple) else cell for cell in cells]
        means.append(sum(v for v in values if v is not None) / len(values))
    return sum(means) / len(means)


@dataclass(frozen=True)
class QuotedRow:
    """A row of the project page's table, quoted as published (never recomputed)."""

    model: str
    cells: dict[str, Cell]
    avg: float
    quoted: bool = True
    source: str = "https://vchitect.github.io/Uni-MMMU-Project (leaderboard)"


def _quoted(model: str, values: list[Any], avg: float) -> QuotedRow:
    return QuotedRow(model, dict(zip(TABLE_COLUMNS, values, strict=True)), avg)


PUBLISHED: tuple[QuotedRow, ...] = (
    _quoted("Bagel", [56.0, 48.0, (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (5.6, 1.2), 8.5, 32.8,
                      63.1, 57.3, 28.0, 53.0, 2.2, 1.8], 22.0),
    _quoted("OmniGen2", [70.3, 48.0, (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), 4.2, 5.7,
                         42.0, 33.1, 8.9, 17.0, 13.2, 13.3], 16.0),
    _quoted("Ovis-U1", [57.0, 53.0, (0.0, 0.0), (12.5, 0.0), (0.0, 0.0), (0.0, 0.0), 7.1, 3.5,
                        42.7, 36.3, 24.8, 18.0, 8.0, 10.5], 16.5),
    _quoted("Qwen-Image-Edit", [72.0, 43.3, (0.0, 0.0), (13.8, 0.7), (0.0, 0.0), (3.6, 0.0), 12.8,
                                8.5, 61.1, 50.3, 26.7, 36.0, 23.5, 20.3], 26.3),
    _quoted("nano-banana", [48.9, 57.0, (1.8, 0.0), (23.3, 4.7), (1.0, 0.0), (6.2, 0.0), 21.4,
                            47.8, 91.7, 79.6, 43.9, 75.0, 36.5, 33.7], 37.3),
    _quoted("GPT4.1 + GPT-image", [80.7, 80.0, (0.8, 0.7), (49.0, 18.1), (8.4, 0.0), (25.5, 2.4),
                                   25.7, 17.1, 93.6, 91.1, 61.8, 71.6, 83.6, 68.6], 44.1),
)  # fmt: skip
"""The project page's leaderboard, quoted (scores 0-100; maze and sliding step/sample)."""
