"""A release-layout output folder scored by the programmatic scorers, walked as the release does.

`score_maze`, `score_sliding` and `score_jigsaw` follow `MazeEvaluator.evaluate`,
`SlidingPuzzleEvaluator.evaluate` and `JigsawEvaluator.evaluate` step by step (which cases,
in which order, which files, how the ground truth is found from `result.json`) and return
per-row channels with the task's `summary.json` in both readings (`summaries`).

Differences between the readings, beyond the per-case ones in `scoring`:

- Maze and sliding: officially every candidate (`model_text.txt` split, `cand_*` folders) is
  a row; strictly each case counts once, by its first candidate, and a case with no text and
  no frames is a row of zeros (officially it makes no row).
- Jigsaw: officially the items are the ids of the run's own `summary.json` and the ground
  truth is opened relative to the release root; strictly every item of the metadata counts
  (a missing case scores 0 and the penalty) and the ground truth is found where the data
  folder has it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer.benchmarks.unimmmu.channels import Channel, Channels, Kind
from composer.benchmarks.unimmmu.grids import parse_sliding
from composer.benchmarks.unimmmu.records import Task
from composer.benchmarks.unimmmu.release import (
    read_case,
    read_json,
    read_outputs,
    resolve,
    run_ids,
    task_dir,
)
from composer.benchmarks.unimmmu.scoring import (
    Distance,
    jigsaw_gt_pair,
    jigsaw_image_channels,
    jigsaw_text_channels,
    maze_candidate_channels,
    maze_expectation,
    move_channels,
    sliding_frame_channels,
)
from composer.benchmarks.unimmmu.summaries import summarize
from composer.core.errors import DataError

_MAZE_DIR = re.compile(r"^(maze_\d+x\d+?)_(\d{5})_steps$")
_SLIDING_DIR = re.compile(r"^(.*?_3x3)_(\d{5})_steps$")


@dataclass(frozen=True)
class Row:
    """One scored row: a case's candidate (1-based) and its channels in both readings.

    `strict_row` is False for the candidates after the first (officially rows, strictly not).
    """

    case: str
    candidate: int
    channels: Channels
    strict_row: bool = True


@dataclass(frozen=True)
class TaskScore:
    """A task's rows and its `summary.json` in both readings (None: no rows, no summary)."""

    task: Task
    rows: list[Row]
    official: dict[str, Any] | None
    strict: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


def _finish(task: Task, rows: list[Row], notes: list[str]) -> TaskScore:
    official = [r.channels for r in rows]
    strict = [r.channels for r in rows if r.strict_row]
    return TaskScore(
        task, rows, summarize(task, official, "official"), summarize(task, strict, "strict"), notes
    )


def _zeros(names: dict[str, Kind], note: str) -> Channels:
    return {name: Channel(kind, None, 0.0, note) for name, kind in names.items()}


def maze_moves(root: Path, step0: Path) -> list[str]:
    """The GT moves the maze scorer finds for a step-0 path (`_derive_gt_json_path`), lowered."""
    match = _MAZE_DIR.match(step0.parent.name)
    path = step0.parent.parent / f"{match[1]}_steps_{match[2]}.json" if match else None
    data = read_json(path) if path is not None and path.exists() else {}
    return [str(m).lower() for m in data.get("steps_long", [])] if isinstance(data, dict) else []


def score_maze(root: Path | str, model: str) -> TaskScore:
    """Score `outputs/<model>/maze` as `MazeEvaluator` does (see the module docstring)."""
    root = Path(root)
    rows: list[Row] = []
    notes: list[str] = []
    for case in read_outputs(root, model, Task.MAZE):
        recorded = case.result.get("step0")
        if not recorded:
            notes.append(f"{case.case}: result.json names no step0; skipped (as the release)")
            continue
        step0 = resolve(root, str(recorded))
        gt = maze_moves(root, step0)
        texts, frames = case.texts, case.candidates
        try:
            expected = maze_expectation(step0, gt)
            strict = maze_expectation(step0, gt, fixed_square=True)
        except OSError as exc:
            expected = strict = None
            notes.append(
                f"{case.case}: step0 {step0} cannot be read ({exc}); the release stops here"
            )
        if expected is None or not (texts or frames):
            text, cand = (texts[0] if texts else ""), (frames[0] if frames else ())
            channels = maze_candidate_channels(text, gt, cand, None, strict)
            if expected is not None:
                note = "no text and no frames: no row"
                channels = {k: Channel(c.kind, None, c.strict, note) for k, c in channels.items()}
            rows.append(Row(case.case, 1, channels))
            continue
        for i in range(max(len(texts), len(frames))):
            text = texts[i] if i < len(texts) else ""
            cand = frames[i] if i < len(frames) else ()
            channels = maze_candidate_channels(text, gt, cand, expected, strict)
            rows.append(Row(case.case, i + 1, channels, strict_row=i == 0))
    return _finish(Task.MAZE, rows, notes)


def sliding_truth(step0: Path) -> tuple[list[str], list[str], list[str]]:
    """The GT moves (as stored) and GT frame ASCII the sliding scorer derives from `init_png`.

    Returns the moves, the frames parsed as the release parses them, and parsed with the
    strict square (`parse_sliding(fixed_square=True)`).
    """
    match = _SLIDING_DIR.match(step0.parent.name)
    if match is None:
        return [], [], []
    path = step0.parent.parent / f"{match[1]}_steps_words_{match[2]}.json"
    data = read_json(path) if path.exists() else {}
    moves = data.get("steps_words", []) if isinstance(data, dict) else []
    frames = sorted(f for f in step0.parent.glob("*.png") if "0000" not in f.name)
    try:
        official = [parse_sliding(f) for f in frames]
        strict = [parse_sliding(f, fixed_square=True) for f in frames]
    except OSError as exc:
        raise DataError(
            str(step0.parent), f"holds a GT frame that cannot be read ({exc})."
        ) from None
    return list(moves), official, strict


_SLIDING_CHANNELS = {
    "text_exact": Kind.BINARY,
    "text_frame_acc": Kind.FRACTION,
    "img_exact": Kind.BINARY,
    "img_frame_acc": Kind.FRACTION,
}


def score_sliding(root: Path | str, model: str) -> TaskScore:
    """Score `outputs/<model>/sliding` as `SlidingPuzzleEvaluator` does."""
    root = Path(root)
    rows: list[Row] = []
    notes: list[str] = []
    for case in read_outputs(root, model, Task.SLIDING):
        recorded = case.result.get("init_png")
        if not recorded:
            notes.append(f"{case.case}: result.json names no init_png; skipped (as the release)")
            continue
        gt_moves, gt_ascii, strict_gt = sliding_truth(resolve(root, str(recorded)))
        texts, frames = case.texts, case.candidates
        if not texts and not frames:
            rows.append(
                Row(case.case, 1, _zeros(_SLIDING_CHANNELS, "no text and no frames: no row"))
            )
        for i in range(max(len(texts), len(frames))):
            text = texts[i] if i < len(texts) else ""
            channels = {
                **move_channels(text, gt_moves, gt_as_stored=True),
                **sliding_frame_channels(
                    frames[i] if i < len(frames) else (), gt_ascii, strict_gt=strict_gt
                ),
            }
            rows.append(Row(case.case, i + 1, channels, strict_row=i == 0))
    return _finish(Task.SLIDING, rows, notes)


def _jigsaw_row(
    root: Path, base: Path, item: dict[str, Any], distance: Distance | None
) -> Channels:
    case = read_case(base / str(item["id"]))
    label = item["label"]
    channels = jigsaw_text_channels(case.text, label)
    raw = (str(item["gt_completed_2x2_path"]), str(item["gt_wrong_2x2_path"]))
    official = jigsaw_image_channels(
        case.images, jigsaw_gt_pair(label, *(root / p for p in raw)), distance
    )
    data_dir = root / "data" / "jigsaw_dataset_2x2ref"
    found = [data_dir / p if (data_dir / p).is_file() else root / p for p in raw]
    if found == [root / p for p in raw]:
        return {**channels, **official}
    strict = jigsaw_image_channels(case.images, jigsaw_gt_pair(label, found[0], found[1]), distance)
    d = official["d_mean"]
    return {**channels, "d_mean": Channel(d.kind, d.official, strict["d_mean"].strict, d.note)}


def score_jigsaw(root: Path | str, model: str, distance: Distance | None) -> TaskScore:
    """Score `outputs/<model>/jigsaw` as `JigsawEvaluator` does; `distance` None: text only.

    Rows follow the run's `summary.json` ids (officially scored); metadata items it lacks
    follow with no official value (strictly a missing case).
    """
    root = Path(root)
    meta = read_json(root / "data" / "jigsaw_dataset_2x2ref" / "metadata.json")
    index = {item["id"]: item for item in meta.get("items", [])} if isinstance(meta, dict) else {}
    base = task_dir(root, model, Task.JIGSAW)
    rows: list[Row] = []
    seen: set[Any] = set()
    for item_id in run_ids(root, model):
        if item_id in index:
            channels = _jigsaw_row(root, base, index[item_id], distance)
            rows.append(Row(str(item_id), 1, channels, strict_row=item_id not in seen))
            seen.add(item_id)
    for item_id, item in index.items():
        if item_id not in seen:
            channels = _jigsaw_row(root, base, item, distance)
            rows.append(
                Row(
                    str(item_id),
                    1,
                    {
                        k: Channel(c.kind, None, c.strict, "not in the run's summary")
                        for k, c in channels.items()
                    },
                )
            )
    notes = [] if distance is not None else ["jigsaw images unscored: DreamSim unavailable"]
    return _finish(Task.JIGSAW, rows, notes)
