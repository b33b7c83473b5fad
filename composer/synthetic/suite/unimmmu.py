"""A synthetic Uni-MMMU-style data folder: mazes, sliding puzzles and jigsaws, release layout.

`write_unimmmu_suite(root, per_task=10, seed=0)` writes `root/data/`, laid out as the release's
`data.tar` unpacks (the paths its `eval_ummmu.py` and `sample_code_example/gpt/*.py` read), and
returns that folder:

    data/maze/maze_6x6_<id>_steps/maze_step_NNNN.png    step 0 is the problem
    data/maze/maze_6x6_steps_<id>.json                  {"steps_long": [moves]}
    (id 00015 is the few-shot demonstration, as in the release)
    data/sliding/summary_steps_le_8.json                {"items": [records]}
    data/sliding/sliding_3x3_<id>_steps/sliding_step_NNNN.png
    data/sliding/sliding_3x3_steps_words_<id>.json      {"steps_words": [moves]}
    data/sliding/demo_3x3_00001_steps/demo_step_000{0..3}.png, demo_3x3_steps_words_00001.json
    data/jigsaw_dataset_2x2ref/metadata.json            {"items": [records]}
    data/jigsaw_dataset_2x2ref/<id>/*.png

A sliding record names its files relative to the folder that holds `data/` (`sliding.py` joins
them to its `data_dir`); a jigsaw record relative to `jigsaw_dataset_2x2ref/` (`jigsaw.py`'s
`resolve_under_dataset`). Which the real files use is to be checked on download. The same seed
gives the same folder.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from composer.synthetic.suite.unimmmu_boards import (
    Board,
    Maze,
    Sliding,
    draw_maze,
    draw_sliding,
    make_goal,
    make_maze,
    make_sliding,
)
from composer.synthetic.suite.unimmmu_jigsaw import Jigsaw, make_jigsaw

MAZE_DEMO_ID = "00015"
SLIDING_DEMO_ID = "00001"
SLIDING_DEMO_MOVES = 3
SLIDING_PREFIX = "sliding"
SLIDING_SUMMARY = "summary_steps_le_8.json"
JIGSAW_DIR = "jigsaw_dataset_2x2ref"


@dataclass(frozen=True)
class UniMMMUSuite:
    """What `write_unimmmu_suite` writes, as data: every item with its id."""

    mazes: tuple[tuple[str, Maze], ...]
    maze_demo: Maze
    goal: Board
    slidings: tuple[tuple[str, Sliding], ...]
    sliding_demo: Sliding
    jigsaws: tuple[tuple[str, Jigsaw], ...]


def _ids(count: int, skip: str) -> list[str]:
    ids = (f"{i:05d}" for i in range(count + 1))
    return [i for i in ids if i != skip][:count]


def make_unimmmu_suite(*, per_task: int = 10, seed: int = 0) -> UniMMMUSuite:
    """Generate `per_task` mazes, sliding puzzles and jigsaws, plus the two demonstrations."""
    goal_rng = random.Random(f"{seed}/sliding/demo")
    goal = make_goal(goal_rng)
    return UniMMMUSuite(
        mazes=tuple(
            (i, make_maze(random.Random(f"{seed}/maze/{i}"))) for i in _ids(per_task, MAZE_DEMO_ID)
        ),
        maze_demo=make_maze(random.Random(f"{seed}/maze/demo")),
        goal=goal,
        slidings=tuple(
            (i, make_sliding(random.Random(f"{seed}/sliding/{i}"), goal))
            for i in _ids(per_task, "")
        ),
        sliding_demo=make_sliding(goal_rng, goal, (SLIDING_DEMO_MOVES, SLIDING_DEMO_MOVES)),
        jigsaws=tuple(
            (f"jigsaw_{i}", make_jigsaw(random.Random(f"{seed}/jigsaw/{i}")))
            for i in _ids(per_task, "")
        ),
    )


def _save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", compress_level=1)


def _dump(obj: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1), encoding="utf-8")


def _write_maze(folder: Path, maze_id: str, maze: Maze) -> None:
    for step, agent in enumerate(maze.positions()):
        _save(draw_maze(maze, agent), folder / f"maze_6x6_{maze_id}_steps/maze_step_{step:04d}.png")
    _dump({"steps_long": list(maze.moves)}, folder / f"maze_6x6_steps_{maze_id}.json")


def _write_sliding(data: Path, prefix: str, case_id: str, puzzle: Sliding) -> dict[str, str]:
    folder = data / "sliding"
    steps = folder / f"{prefix}_3x3_{case_id}_steps"
    frames = [steps / f"{prefix}_step_{i:04d}.png" for i in range(len(puzzle.moves) + 1)]
    for frame, board in zip(frames, puzzle.boards(), strict=True):
        _save(draw_sliding(board), frame)
    words = folder / f"{prefix}_3x3_steps_words_{case_id}.json"
    _dump({"steps_words": list(puzzle.moves)}, words)

    def rel(path: Path) -> str:
        return path.relative_to(data.parent).as_posix()

    return {
        "case_name": f"{prefix}_3x3_{case_id}",
        "steps_dir": rel(steps),
        "initial_png": rel(frames[0]),
        "final_png": rel(frames[-1]),
        "steps_words_json": rel(words),
    }


def _write_jigsaw(folder: Path, item_id: str, jigsaw: Jigsaw) -> dict[str, object]:
    names = {
        "ref": f"{item_id}/ref_2x2.png",
        "cand0": f"{item_id}/candidate_0.png",
        "cand1": f"{item_id}/candidate_1.png",
        "completed": f"{item_id}/gt_completed_2x2.png",
        "wrong": f"{item_id}/gt_wrong_2x2.png",
    }
    _save(jigsaw.reference(), folder / names["ref"])
    _save(jigsaw.candidates[0], folder / names["cand0"])
    _save(jigsaw.candidates[1], folder / names["cand1"])
    _save(jigsaw.completed(jigsaw.label), folder / names["completed"])
    _save(jigsaw.completed(1 - jigsaw.label), folder / names["wrong"])
    return {
        "id": item_id,
        "label": jigsaw.label,
        "ref_panel": {"ref_image_path": names["ref"]},
        "candidate_paths": [names["cand0"], names["cand1"]],
        "gt_completed_2x2_path": names["completed"],
        "gt_wrong_2x2_path": names["wrong"],
    }


def write_unimmmu_suite(root: Path | str, *, per_task: int = 10, seed: int = 0) -> Path:
    """Write a synthetic Uni-MMMU-style `data/` folder under `root` and return it.

    Example:
        >>> data = write_unimmmu_suite(tmp_path, per_task=3, seed=1)  # doctest: +SKIP
        >>> sorted(p.name for p in data.iterdir())  # doctest: +SKIP
        ['jigsaw_dataset_2x2ref', 'maze', 'sliding']
    """
    suite = make_unimmmu_suite(per_task=per_task, seed=seed)
    data = Path(root) / "data"
    _write_maze(data / "maze", MAZE_DEMO_ID, suite.maze_demo)
    for maze_id, maze in suite.mazes:
        _write_maze(data / "maze", maze_id, maze)
    _write_sliding(data, "demo", SLIDING_DEMO_ID, suite.sliding_demo)
    records = [_write_sliding(data, SLIDING_PREFIX, i, p) for i, p in suite.slidings]
    _dump({"items": records}, data / "sliding" / SLIDING_SUMMARY)
    jigsaws = [_write_jigsaw(data / JIGSAW_DIR, i, j) for i, j in suite.jigsaws]
    _dump({"items": jigsaws}, data / JIGSAW_DIR / "metadata.json")
    return data
