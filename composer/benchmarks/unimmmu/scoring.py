"""Uni-MMMU's programmatic scorers: move lists, maze and sliding frames, the jigsaw choice.

Each follows `eval_ummmu.py` (MazeEvaluator, SlidingPuzzleEvaluator, JigsawEvaluator) and
returns `Channels` (see `channels`). The quirks kept in `official` and fixed in `strict`:

- Moves (maze and sliding): the sliding ground truth is compared as stored (the release
  lower-cases the prediction only); strict lower-cases and strips both. A case with no
  ground-truth moves scores 0 officially; strict leaves it unscored.
- Maze frames: a case whose step-0 image yields no start leaves every maze metric's
  denominator officially (text included); strict scores its text and leaves only its frames
  unscored. An unreadable predicted frame (which stops the release) counts as a wrong frame.
  The release crops a non-square frame off its board (the square's clamps are swapped), so
  such a frame never matches; strict parses step 0 and frames with the clamps fixed.
- Sliding frames: with no ground-truth step images, an empty prediction scores 1 officially;
  strict leaves it unscored. A `"?"` cell matches a `"?"` officially (ASCII equality);
  strictly a frame with a `"?"` never matches. A board filling a non-square frame's height
  is cropped from before the image officially; strict starts the crop at the edge.
- Jigsaw choice: the release accepts any JSON value equal to 0 or 1 (`true`, `1.0`);
  strict accepts the integers 0 and 1 only.
- Jigsaw images: a ground-truth image that cannot be read is the model's penalty (1.0)
  officially; strict leaves the case unscored. With no distance function (DreamSim missing)
  the image channel is unscored in both readings (the release refuses to run at all).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from composer.benchmarks.unimmmu.channels import Channel, Channels, Kind, both
from composer.benchmarks.unimmmu.grids import (
    Grid,
    maze_parse_ok,
    parse_maze,
    parse_sliding,
    simulate_maze,
    walls_of,
)

CANDIDATE_SEPARATOR = "\n\n\n-----\n\n\n"
"""How the release splits `model_text.txt` into candidates (maze and sliding)."""

_ANSWER = re.compile(r"<ANSWER_JSON>\s*(\[.*?\])\s*</ANSWER_JSON>", re.IGNORECASE | re.DOTALL)
_FINAL = re.compile(
    r"<FINAL_ANSWER_JSON>\s*({.*?})\s*</FINAL_ANSWER_JSON>", re.DOTALL | re.IGNORECASE
)

PENALTY_DISTANCE = 1.0
"""The release's jigsaw distance for a wrong image count or an unreadable image."""

Distance = Callable[[Image.Image, Image.Image], float]
"""A perceptual distance between two images (DreamSim in the release; see `dreamsim`)."""
ImageSource = Image.Image | Path | str


def split_candidates(text: str | None) -> list[str]:
    """`model_text.txt` split into candidates as the release splits it ([] with no file)."""
    return [] if text is None else text.split(CANDIDATE_SEPARATOR)


def parse_moves(text: str) -> list[str]:
    """The moves of the last `<ANSWER_JSON>[...]</ANSWER_JSON>` block, lower-cased and stripped.

    Follows `MazeEvaluator._parse_moves`: no block or malformed JSON gives [] (a wrong answer,
    not an error); every item becomes `str(item).strip().lower()`.
    """
    matches = list(_ANSWER.finditer(text))
    if not matches:
        return []
    try:
        items = json.loads(matches[-1].group(1))
    except json.JSONDecodeError:
        return []
    return [str(item).strip().lower() for item in items]


def _move_scores(pred: Sequence[str], gt: Sequence[str]) -> tuple[float, float]:
    hits = sum(1 for p, g in zip(pred, gt, strict=False) if p == g)
    return (1.0 if list(pred) == list(gt) else 0.0), hits / len(gt)


def move_channels(text: str, gt_moves: Sequence[str], *, gt_as_stored: bool = False) -> Channels:
    """`text_exact` and `text_frame_acc` of one candidate against the ground-truth moves.

    Args:
        text: The candidate's text (one piece of `split_candidates`).
        gt_moves: The ground-truth moves as the release holds them: lower-cased for maze
            (`steps_long`), as stored for sliding (`steps_words`).
        gt_as_stored: True for sliding: strict lower-cases and strips the ground truth too.
    """
    pred = parse_moves(text)
    if not gt_moves:
        note = "no ground-truth moves"
        return {
            "text_exact": Channel(Kind.BINARY, 0.0, None, note),
            "text_frame_acc": Channel(Kind.FRACTION, 0.0, None, note),
        }
    official = _move_scores(pred, gt_moves)
    clean = [str(m).strip().lower() for m in gt_moves] if gt_as_stored else list(gt_moves)
    strict = _move_scores(pred, clean)
    return {
        "text_exact": Channel(Kind.BINARY, official[0], strict[0]),
        "text_frame_acc": Channel(Kind.FRACTION, official[1], strict[1]),
    }


@dataclass(frozen=True)
class MazeExpectation:
    """What a maze case's frames are checked against, from its step-0 image and GT moves.

    Attributes:
        walls: The walls parsed from step 0.
        frames: The expected grid after each ground-truth move (`simulate_maze`).
    """

    walls: list[list[bool]]
    frames: list[Grid]


def maze_expectation(
    step0: ImageSource, gt_moves: Sequence[str], *, fixed_square: bool = False
) -> MazeExpectation | None:
    """The expected frames of a maze case, or None where the release skips the case.

    The release parses step 0 (`parse_maze`) and skips the case when no start is found;
    otherwise it simulates the ground-truth moves from the parsed start over the parsed walls.
    `fixed_square` parses with the board square clamped the right way (strict reading).
    """
    parsed = parse_maze(step0, fixed_square=fixed_square)
    if parsed.start is None:
        return None
    walls = walls_of(parsed.grid)
    return MazeExpectation(walls, simulate_maze(parsed.start, parsed.goal, walls, gt_moves))


def _read_maze(frame: ImageSource, fixed_square: bool) -> Grid | None:
    try:
        return parse_maze(frame, fixed_square=fixed_square).grid
    except (OSError, ValueError):
        return None


def _frame_scores(pred: list[Grid | None], expected: MazeExpectation) -> dict[str, float]:
    gt = expected.frames
    hits = sum(1 for i in range(len(gt)) if i < len(pred) and pred[i] == gt[i])
    ok = sum(1 for grid in pred if maze_parse_ok(grid, expected.walls))
    return {
        "img_exact": 1.0 if len(pred) == len(gt) and hits == len(gt) else 0.0,
        "img_frame_acc": hits / len(gt),
        "parse_frame_success": ok / len(pred) if pred else 0.0,
        "parse_all_ok": 1.0 if pred and ok == len(pred) else 0.0,
    }


_KIND = {
    "img_exact": Kind.BINARY,
    "img_frame_acc": Kind.FRACTION,
    "parse_frame_success": Kind.FRACTION,
    "parse_all_ok": Kind.BINARY,
}
_SAME = "same"


def maze_frame_channels(
    frames: Sequence[ImageSource],
    expected: MazeExpectation | None,
    *,
    strict: MazeExpectation | None | str = _SAME,
) -> Channels:
    """`img_exact`, `img_frame_acc`, `parse_frame_success`, `parse_all_ok` of one candidate.

    Follows `MazeEvaluator._evaluate_image_grids`: frame i matches when its grid equals
    expected frame i; accuracy is over the expected count; exact needs equal counts and all
    matching; a frame parses well when it has no `"?"`, the step-0 walls and one dot and goal.
    With no expected frames (no GT moves) every value is 0. `frames` are the candidate's files
    in sorted name order (all files of `cand_NN/`).

    Args:
        frames: The candidate's frames.
        expected: `maze_expectation(step0, moves)`; None: the release skipped the case.
        strict: `maze_expectation(step0, moves, fixed_square=True)`, read against frames
            parsed the same way; None: unscored; omitted: the official values.
    """
    official = None
    if expected is not None and expected.frames:
        official = _frame_scores([_read_maze(f, False) for f in frames], expected)
    if strict == _SAME:
        strict_scores = official
    elif isinstance(strict, MazeExpectation) and strict.frames:
        strict_scores = _frame_scores([_read_maze(f, True) for f in frames], strict)
    else:
        strict_scores = None
    note = ""
    if expected is None:
        note = "step-0 image has no start: the release skips the case"
    elif not expected.frames:
        note = "no expected frames"
        official = dict.fromkeys(_KIND, 0.0)
        strict_scores = None if strict == _SAME else strict_scores
    return {
        name: Channel(
            kind,
            None if official is None else official[name],
            None if strict_scores is None else strict_scores[name],
            note,
        )
        for name, kind in _KIND.items()
    }


def maze_case_channels(
    text: str, gt_moves: Sequence[str], step0: ImageSource, frames: Sequence[ImageSource]
) -> Channels:
    """Every maze channel of one candidate, both readings, from its step-0 image.

    Officially a step 0 with no start removes the case (text included); strictly the text is
    scored and the frames are read against step 0 parsed with the square clamped the right
    way (so non-square frames can match).
    """
    return maze_candidate_channels(
        text,
        gt_moves,
        frames,
        maze_expectation(step0, gt_moves),
        maze_expectation(step0, gt_moves, fixed_square=True),
    )


def maze_candidate_channels(
    text: str,
    gt_moves: Sequence[str],
    frames: Sequence[ImageSource],
    expected: MazeExpectation | None,
    strict: MazeExpectation | None,
) -> Channels:
    """`maze_case_channels` with both expectations computed once per case."""
    channels = move_channels(text, gt_moves)
    if expected is None:
        note = "step-0 image has no start: the release skips the case"
        channels = {k: Channel(c.kind, None, c.strict, note) for k, c in channels.items()}
    return {**channels, **maze_frame_channels(frames, expected, strict=strict)}


def skipped_maze_channels(text: str, gt_moves: Sequence[str]) -> Channels:
    """A case whose step 0 does not parse: out of the release's metrics, text scored strictly."""
    return maze_candidate_channels(text, gt_moves, (), None, None)


def _ascii(frame: ImageSource, fixed_square: bool = False) -> str | None:
    try:
        return parse_sliding(frame, fixed_square=fixed_square)
    except (OSError, ValueError):
        return None


def _ascii_scores(pred: list[str | None], gt: Sequence[str], strict: bool) -> tuple[float, float]:
    n = len(gt)
    hits = sum(
        1
        for p, g in zip(pred, gt, strict=False)
        if p == g and (not strict or (p is not None and "?" not in p))
    )
    exact = (len(pred) == n and hits == n) if strict else pred == list(gt)
    return (1.0 if exact else 0.0), hits / n


def sliding_frame_channels(
    frames: Sequence[ImageSource],
    gt_ascii: Sequence[str],
    *,
    strict_gt: Sequence[str] | None = None,
) -> Channels:
    """`img_exact` and `img_frame_acc` of one sliding candidate against the GT step images.

    Follows `SlidingPuzzleEvaluator._evaluate_image_ascii`: frames compared as ASCII at the
    same index, accuracy over the GT count, exact when the sequences are equal. `gt_ascii`
    holds `parse_sliding` of each GT step image (all PNGs but step 0000, sorted).
    `strict_gt`, the same parsed with `fixed_square=True`, makes the strict reading parse the
    frames that way too (omitted: the official parse); strictly a `"?"` never matches.
    """
    pred = [_ascii(frame) for frame in frames]
    if not gt_ascii:
        value = 0.0 if pred else 1.0
        note = "no ground-truth step images"
        return {
            "img_exact": Channel(Kind.BINARY, value, None, note),
            "img_frame_acc": Channel(Kind.FRACTION, value, None, note),
        }
    official = _ascii_scores(pred, gt_ascii, strict=False)
    if strict_gt is None:
        strict = _ascii_scores(pred, gt_ascii, strict=True)
    else:
        strict_pred = [_ascii(frame, fixed_square=True) for frame in frames]
        strict = _ascii_scores(strict_pred, strict_gt, strict=True)
    return {
        "img_exact": Channel(Kind.BINARY, official[0], strict[0]),
        "img_frame_acc": Channel(Kind.FRACTION, official[1], strict[1]),
    }


@dataclass(frozen=True)
class JigsawChoice:
    """The choice read from a jigsaw text, in both readings, with the release's status word."""

    official: int | None
    strict: int | None
    status: str


def parse_jigsaw_choice(text: str | None) -> JigsawChoice:
    """The `choice` inside the first `<FINAL_ANSWER_JSON>{...}</FINAL_ANSWER_JSON>` block.

    Status words are the release's: `missing_text`, `no_final_json_block`, `bad_json`,
    `invalid_choice_value`, `ok`. Officially a value equal to 0 or 1 counts (so `true` and
    `1.0` do, `"1"` does not); strictly only the JSON integers 0 and 1.
    """
    if text is None:
        return JigsawChoice(None, None, "missing_text")
    match = _FINAL.search(text)
    if not match:
        return JigsawChoice(None, None, "no_final_json_block")
    try:
        data: Any = json.loads(match.group(1))
    except json.JSONDecodeError:
        return JigsawChoice(None, None, "bad_json")
    choice = data.get("choice")
    if choice not in (0, 1):
        return JigsawChoice(None, None, "invalid_choice_value")
    strict = choice if type(choice) is int else None
    return JigsawChoice(int(choice), strict, "ok")


def jigsaw_text_channels(text: str | None, label: int) -> Channels:
    """`text_correct`: 1 when the parsed choice equals the label (`JigsawEvaluator`)."""
    choice = parse_jigsaw_choice(text)
    official = 1.0 if choice.official is not None and choice.official == label else 0.0
    strict = 1.0 if choice.strict is not None and choice.strict == label else 0.0
    return {"text_correct": Channel(Kind.BINARY, official, strict, choice.status)}


def jigsaw_gt_pair(label: int, completed: Path, wrong: Path) -> tuple[Path, Path]:
    """The ground truth for model images 1 and 2: the completed grid goes with the label."""
    return (completed, wrong) if label == 0 else (wrong, completed)


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    with Image.open(source) as image:
        image.load()
        return image.copy()


def jigsaw_image_channels(
    images: Sequence[ImageSource], gt: tuple[ImageSource, ImageSource], distance: Distance | None
) -> Channels:
    """`d_mean`, the mean distance of the two images to their ground truth (`JigsawEvaluator`).

    Exactly two images (the case's `model_image_*.*`, sorted) are compared, image 1 with
    `gt[0]` and image 2 with `gt[1]`; any other count, or an image that cannot be read or
    scored, is the penalty 1.0. Without `distance` the channel is unscored.
    """
    if distance is None:
        note = "DreamSim unavailable: install 'unify-composer[unimmmu]' to score jigsaw images"
        return {"d_mean": Channel(Kind.DISTANCE, None, None, note)}
    if len(images) != 2:
        return {"d_mean": both(Kind.DISTANCE, PENALTY_DISTANCE, f"invalid_count_{len(images)}")}
    # The release's one `try ... except Exception` covers reading all four images and both
    # distances: any failure there (Pillow's DecompressionBombError included) is the penalty.
    try:
        preds = [_open(images[0]), _open(images[1])]
    except Exception as exc:  # noqa: BLE001 - as the release
        return {"d_mean": both(Kind.DISTANCE, PENALTY_DISTANCE, f"read_error: {exc}")}
    try:
        refs = [_open(gt[0]), _open(gt[1])]
    except Exception as exc:  # noqa: BLE001 - as the release
        return {"d_mean": Channel(Kind.DISTANCE, PENALTY_DISTANCE, None, f"read_error: {exc}")}
    try:
        d0 = distance(preds[0].convert("RGB"), refs[0].convert("RGB"))
        d1 = distance(preds[1].convert("RGB"), refs[1].convert("RGB"))
    except Exception as exc:  # noqa: BLE001 - as the release
        return {"d_mean": both(Kind.DISTANCE, PENALTY_DISTANCE, f"read_error: {exc}")}
    return {"d_mean": both(Kind.DISTANCE, (d0 + d1) / 2.0, "ok")}
