"""Release-layout output folders scored as `eval_ummmu.py` walks and summarizes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from unimmmu_data import MAZE_MOVES, MAZE_PATH, SLIDING_STATES, write_data
from unimmmu_drawing import maze_image, save, sliding_image

from composer.benchmarks.unimmmu.files import load_folder
from composer.benchmarks.unimmmu.folder_scoring import score_jigsaw, score_maze, score_sliding
from composer.benchmarks.unimmmu.records import Item, Task
from composer.benchmarks.unimmmu.release import (
    code_reference,
    judged_cases,
    read_case,
    task_dir,
    write_case,
    write_summary,
)
from composer.benchmarks.unimmmu.scoring import CANDIDATE_SEPARATOR

MODEL = "sys"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_data(tmp_path / "ummmu")


def item_of(root: Path, task: str, index: int = 0) -> Item:
    return list(load_folder(root, tasks=[task]).values())[0][index]


def answer(moves: list[str]) -> str:
    return f"<ANSWER_JSON>{json.dumps(moves)}</ANSWER_JSON>"


def test_write_case_lays_out_what_the_scorer_reads(root: Path) -> None:
    """maze.py writes model_text.txt, cand_01/<stem>_step_NNNN.png, result.json (step0 as
    the script recorded it, relative to the release root) and _done.ok."""
    item = item_of(root, "maze")
    frames = [maze_image(cell, (4, 4)) for cell in MAZE_PATH]
    case = write_case(root, MODEL, item, answer(MAZE_MOVES), frames)
    assert case.done and case.text == answer(MAZE_MOVES)
    assert [p.name for p in case.candidates[0]][:2] == [
        "maze_step_0000_step_0001.png",
        "maze_step_0000_step_0002.png",
    ]
    assert case.result["step0"] == "data/maze/maze_6x6_00001_steps/maze_step_0000.png"
    assert case.folder == task_dir(root, MODEL, Task.MAZE) / "case_00001"


def add_maze_case(root: Path, case: str, step0: str, text: str | None) -> Path:
    folder = task_dir(root, MODEL, Task.MAZE) / case
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({"step0": step0}))
    if text is not None:
        (folder / "model_text.txt").write_text(text)
    return folder


def test_maze_folder(root: Path) -> None:
    """MazeEvaluator.evaluate + summarize:
    case_00001 has two candidates (text split on the separator, cand_01 and cand_02):
      1: right moves, six right frames -> text 1/1, img 1/1, parse 1/1;
      2: four of six moves -> text 0 and 4/6; frames (1,2), (1,3), (1,1) -> 2/6 match,
         all three parse (one S, one G, step-0 walls) -> parse 1.0 and 1.
    case_00009's step 0 has no blue dot: `continue` (out of every official metric).
    case_00010 has neither text nor cand_*: max(0, 0) candidates, no row.
    Official means are over the two candidate rows."""
    item = item_of(root, "maze")
    wrong = answer(["right", "right", "right", "down"])
    frames = [maze_image(cell, (4, 4)) for cell in MAZE_PATH]
    case = write_case(root, MODEL, item, answer(MAZE_MOVES) + CANDIDATE_SEPARATOR + wrong, frames)
    for i, cell in enumerate([(1, 2), (1, 3), (1, 1)], 1):
        save(maze_image(cell, (4, 4)), case.folder / "cand_02" / f"maze_step_0000_step_{i:04d}.png")
    steps = root / "data" / "maze" / "maze_6x6_00009_steps"
    save(maze_image(None, (4, 4)), steps / "maze_step_0000.png")
    (root / "data" / "maze" / "maze_6x6_steps_00009.json").write_text('{"steps_long": ["down"]}')
    add_maze_case(
        root, "case_00009", "data/maze/maze_6x6_00009_steps/maze_step_0000.png", answer(["down"])
    )
    add_maze_case(root, "case_00010", case.result["step0"], None)

    score = score_maze(root, MODEL)
    assert score.official == pytest.approx(
        {
            "total_candidates": 2,
            "text_accuracy_exact": 0.5,
            "text_accuracy_frame_macro": (1 + 4 / 6) / 2,
            "img_accuracy_exact": 0.5,
            "img_accuracy_frame_macro": (1 + 2 / 6) / 2,
            "parse_accuracy_all_ok": 1.0,
            "parse_accuracy_frame_macro": 1.0,
        }
    )
    strict = score.strict
    assert strict is not None
    assert strict["total_candidates"] == 3  # one row per case: 00001 (cand 1), 00009, 00010
    assert strict["text_accuracy_exact"] == pytest.approx(2 / 3)
    assert strict["img_accuracy_exact"] == pytest.approx(0.5)
    assert strict["unscored"]["img_exact"] == 1


def test_sliding_folder(root: Path) -> None:
    """SlidingPuzzleEvaluator: GT from init_png's folder (`_3x3_<id>_steps`): steps_words as
    stored, frames all PNGs but 0000. case 00002: "Down" lowered matches, both frames match.
    case_odd: init_png in a folder the regex does not match -> no GT: text 0, and with no
    frames `img_exact = 1 if not pred` -> 1 and 1.0 (strict: unscored)."""
    item = item_of(root, "sliding")
    frames = [sliding_image(s) for s in SLIDING_STATES[1:]]
    write_case(root, MODEL, item, answer(["Down", "right"]), frames)
    odd = task_dir(root, MODEL, Task.SLIDING) / "case_odd"
    odd.mkdir()
    (odd / "result.json").write_text(json.dumps({"init_png": "data/sliding/odd/f_0000.png"}))
    (odd / "model_text.txt").write_text(answer([]))

    score = score_sliding(root, MODEL)
    assert score.official == {
        "total_candidates": 2,
        "text_accuracy_exact": 0.5,
        "text_accuracy_frame_macro": 0.5,
        "img_accuracy_exact": 1.0,
        "img_accuracy_frame_macro": 1.0,
    }
    assert score.strict is not None
    assert score.strict["text_accuracy_exact"] == 1.0
    assert score.strict["unscored"] == {
        "text_exact": 1,
        "text_frame_acc": 1,
        "img_exact": 1,
        "img_frame_acc": 1,
    }


def flat(a: Image.Image, b: Image.Image) -> float:
    """A stand-in distance: 0 for equal first pixels, else 0.5."""
    return 0.0 if a.getpixel((0, 0)) == b.getpixel((0, 0)) else 0.5


def test_jigsaw_folder(root: Path) -> None:
    """JigsawEvaluator: items = the run summary's ids found in the metadata (jig 0 only).
    The metadata's GT paths are relative to the dataset folder, but the scorer opens them from
    the release root: Image.open fails inside the try -> read_error, d_mean 1.0. Text: choice 0
    == label 0 -> 1. Strict: both metadata items; jig 0 finds its GT (distance 0), jig 1 has
    no case folder (missing_text, invalid_count_0 -> 1.0)."""
    item = item_of(root, "jigsaw")
    grey = Image.new("RGB", (16, 16), "#808080")
    case = write_case(
        root, MODEL, item, '<FINAL_ANSWER_JSON>{"choice": 0}</FINAL_ANSWER_JSON>', [grey, grey]
    )
    write_summary(root, MODEL, Task.JIGSAW, [case])
    assert (case.folder.name, read_case(case.folder).result["id"]) == ("jig_0", "jig 0")
    # The release looks the case up by raw id: "jig 0" is a folder the sampler never wrote.
    case.folder.rename(case.folder.parent / "jig 0")

    score = score_jigsaw(root, MODEL, flat)
    assert score.official == {
        "counts": {"total_items": 1, "image_ok": 0, "text_parsed": 1},
        "metrics": {
            "mean_distance_penalized": 1.0,
            "image_score_penalized": 0.0,
            "text_accuracy": 1.0,
        },
    }
    assert score.strict is not None
    assert score.strict["metrics"] == {
        "mean_distance_penalized": 0.5,
        "image_score_penalized": 0.5,
        "text_accuracy": 0.5,
    }


def test_jigsaw_without_dreamsim_keeps_the_text(root: Path) -> None:
    """The release needs DreamSim even for the text; composer scores the text alone."""
    item = item_of(root, "jigsaw", 1)
    case = write_case(root, MODEL, item, '<FINAL_ANSWER_JSON>{"choice": 1}</FINAL_ANSWER_JSON>', [])
    write_summary(root, MODEL, Task.JIGSAW, [case])
    (case.folder).rename(case.folder.parent / "jig 1")
    score = score_jigsaw(root, MODEL, None)
    assert score.official is not None
    assert score.official["metrics"]["text_accuracy"] == 1.0
    assert score.official["metrics"]["image_score_penalized"] is None
    assert score.notes == ["jigsaw images unscored: DreamSim unavailable"]


def test_judged_cases_follow_each_evaluator(root: Path) -> None:
    """GeometryEvaluator walks the items (a missing folder: error_missing_case_dir);
    ScienceEvaluator walks case_NN for every item; CodeSVGEvaluator walks case_*_* folders and
    takes the reference from result.json: data/svg/<png> if it exists, else the SVG."""
    data = load_folder(root, tasks=["geometry", "science", "code"])
    pairs = judged_cases(root, MODEL, Task.GEOMETRY, data[Task.GEOMETRY])
    assert [(i.id if i else None, c) for i, c in pairs] == [("G_1__3", None)]
    science = judged_cases(root, MODEL, Task.SCIENCE, data[Task.SCIENCE])
    assert [(i.id if i else None, c.text if c else "?") for i, c in science] == [
        ("case_01", None),
        ("case_02", None),
    ]
    (code_item,) = data[Task.CODE]
    case = write_case(root, MODEL, code_item, "<RENDER_SUMMARY>a</RENDER_SUMMARY>", [])
    ((item, found),) = judged_cases(root, MODEL, Task.CODE, data[Task.CODE])
    assert item == code_item and found is not None
    assert code_reference(root, found) == (root / "data" / "svg" / "a.png", None)
    (case.folder / "result.json").write_text(json.dumps({"png": "gone.png", "svg": "a.svg"}))
    assert code_reference(root, read_case(case.folder)) == (None, root / "data" / "svg" / "a.svg")
