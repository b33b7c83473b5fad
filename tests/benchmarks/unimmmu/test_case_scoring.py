"""Scoring one item's outputs in a run agrees with scoring the exported release folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from unimmmu_data import MAZE_MOVES, MAZE_PATH, SLIDING_MOVES, SLIDING_STATES, write_data
from unimmmu_drawing import maze_image, sliding_image

from composer.benchmarks.unimmmu.case_scoring import (
    judge_requests,
    judged_channels,
    score_programmatic,
)
from composer.benchmarks.unimmmu.files import load_folder
from composer.benchmarks.unimmmu.folder_scoring import score_maze, score_sliding
from composer.benchmarks.unimmmu.records import Task
from composer.benchmarks.unimmmu.release import write_case
from composer.core.errors import ConfigError


@pytest.fixture
def items(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    return load_folder(write_data(tmp_path / "ummmu"))


def official(channels: dict) -> dict:  # type: ignore[type-arg]
    return {k: c.official for k, c in channels.items()}


def test_maze_item_matches_its_exported_folder(items: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """The per-item scorer and MazeEvaluator over the exported case give the same row:
    moves right, frames (1,2), (1,3), (1,4), then the dot stays at (1,4) three times
    (3 of 6 frames right)."""
    (item,) = items[Task.MAZE]
    frames = [maze_image(cell, (4, 4)) for cell in [*MAZE_PATH[:3], *[MAZE_PATH[2]] * 3]]
    text = f"<ANSWER_JSON>{json.dumps([m.lower() for m in MAZE_MOVES])}</ANSWER_JSON>"
    got = score_programmatic(item, text, frames)
    assert official(got) == {
        "text_exact": 1.0,
        "text_frame_acc": 1.0,
        "img_exact": 0.0,
        "img_frame_acc": 0.5,
        "parse_frame_success": 1.0,
        "parse_all_ok": 1.0,
    }
    root = tmp_path / "ummmu"
    write_case(root, "m", item, text, frames)
    folder = score_maze(root, "m")
    assert official(folder.rows[0].channels) == official(got)


def test_sliding_item_matches_its_exported_folder(items: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    (item,) = items[Task.SLIDING]
    frames = [sliding_image(s) for s in SLIDING_STATES[1:]]
    text = f"<ANSWER_JSON>{json.dumps(SLIDING_MOVES)}</ANSWER_JSON>"
    got = score_programmatic(item, text, frames)
    assert official(got) == {
        "text_exact": 1.0,
        "text_frame_acc": 1.0,
        "img_exact": 1.0,
        "img_frame_acc": 1.0,
    }
    root = tmp_path / "ummmu"
    write_case(root, "m", item, text, frames)
    assert official(score_sliding(root, "m").rows[0].channels) == official(got)


def test_jigsaw_item(items: dict) -> None:  # type: ignore[type-arg]
    item = items[Task.JIGSAW][1]  # label 1
    grey = Image.new("RGB", (16, 16), "#808080")
    got = score_programmatic(
        item,
        '<FINAL_ANSWER_JSON>{"choice": 1}</FINAL_ANSWER_JSON>',
        [grey, grey],
        distance=lambda a, b: 0.2,
    )
    assert official(got) == {"text_correct": 1.0, "d_mean": pytest.approx(0.2)}


def test_judged_items_route_to_their_judges(items: dict) -> None:  # type: ignore[type-arg]
    geometry = items[Task.GEOMETRY][0]
    requests = judge_requests(geometry, "proof", [Path("o.png")])
    assert set(requests) == {"text", "overlay"}
    replies = {"text": '{"text_ok": 1}', "overlay": '{"overlay_ok": 0}'}
    assert judged_channels(geometry, replies)["text_ok"].official == 1.0
    code = items[Task.CODE][0]
    assert set(judge_requests(code, "<RENDER_SUMMARY>x</RENDER_SUMMARY>", [Path("i.png")])) == {
        "image_1",
        "text",
    }
    with pytest.raises(ConfigError, match="judge"):
        score_programmatic(geometry, "", [])
    with pytest.raises(ConfigError, match="programmatically"):
        judge_requests(items[Task.MAZE][0], "", [])
