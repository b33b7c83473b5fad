"""A tiny Uni-MMMU release folder (`root/data/...`), one or two items per task, for the tests.

The layout and file names are the ones `eval_ummmu.py` and `sample_code_example/gpt/*.py`
read; the frames are drawn in the release's palettes (`unimmmu_drawing`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image
from unimmmu_drawing import maze_image, save, sliding_image

MAZE_MOVES = ["Right", "right", "right", "down", "down", "down"]
"""Case 00001's `steps_long`: (1,1) -> (1,4) -> (4,4), the goal (the maze reader lowers them)."""
MAZE_PATH = [(1, 2), (1, 3), (1, 4), (2, 4), (3, 4), (4, 4)]
SLIDING_STATES = [
    [[2, 3, 4], [5, 1, 6], [7, 8, 9]],
    [[2, 1, 4], [5, 3, 6], [7, 8, 9]],
    [[1, 2, 4], [5, 3, 6], [7, 8, 9]],
]
"""Sliding case 00002: the tile above the red gap moves down, then the left tile right."""
SLIDING_MOVES = ["down", "right"]


def _json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _png(path: Path, colour: str = "#808080") -> str:
    save(Image.new("RGB", (16, 16), colour), path)
    return path.name


def write_maze(data: Path) -> None:
    """The demonstration 00015 (two steps) and case 00001 (six steps to the goal)."""
    demo = data / "maze" / "maze_6x6_00015_steps"
    for i, cell in enumerate([(1, 1), (1, 2), (1, 3)]):
        save(maze_image(cell, (1, 4)), demo / f"maze_step_{i:04d}.png")
    _json(data / "maze" / "maze_6x6_steps_00015.json", {"steps_long": ["right", "right"]})
    case = data / "maze" / "maze_6x6_00001_steps"
    for i, cell in enumerate([(1, 1), *MAZE_PATH]):
        save(maze_image(cell, (4, 4)), case / f"maze_step_{i:04d}.png")
    _json(data / "maze" / "maze_6x6_steps_00001.json", {"steps_long": MAZE_MOVES})


def write_sliding(data: Path) -> None:
    """The demonstration 00001 (three states) and case 00002 (two moves)."""
    demo = data / "sliding" / "demo_3x3_00001_steps"
    for i, state in enumerate([*SLIDING_STATES, SLIDING_STATES[0]]):
        save(sliding_image(state), demo / f"demo_step_{i:04d}.png")
    _json(
        data / "sliding" / "demo_3x3_steps_words_00001.json",
        {"steps_words": ["down", "right", "x"]},
    )
    case = data / "sliding" / "puzzle_3x3_00002_steps"
    for i, state in enumerate(SLIDING_STATES):
        save(sliding_image(state), case / f"puzzle_step_{i:04d}.png")
    _json(data / "sliding" / "puzzle_3x3_steps_words_00002.json", {"steps_words": SLIDING_MOVES})


def write_others(data: Path) -> None:
    """One geometry, two jigsaw, two science and one code item."""
    math = data / "math_data"
    _png(math / "img" / "base.png")
    _png(math / "img" / "aux.png", "#ff0000")
    _json(
        math / "filtered.json",
        {
            "G 1": {
                "3": {
                    "original_image": "img/base.png",
                    "auxiliary_image": "img/aux.png",
                    "auxiliary_text_en": " Connect AC. ",
                    "problem_text_en": "Find x.",
                    "choices_en": ["A. 1", "B. 2"],
                    "solution_en": "x = 2",
                    "type": "calculation",
                }
            },
        },
    )
    jig = data / "jigsaw_dataset_2x2ref"
    for name in ("ref", "c0", "c1", "ok", "bad"):
        _png(jig / f"{name}.png")
    _json(
        jig / "metadata.json",
        {
            "items": [
                {
                    "id": f"jig {n}",
                    "label": n,
                    "ref_panel": {"ref_image_path": "ref.png"},
                    "candidate_paths": ["c0.png", "c1.png"],
                    "gt_completed_2x2_path": "ok.png",
                    "gt_wrong_2x2_path": "bad.png",
                }
                for n in (0, 1)
            ]
        },
    )
    _png(data / "science" / "img" / "ice.png", "#ffffff")
    _json(
        data / "science" / "dim_all.json",
        [
            {
                "level_1_category": "physics",
                "level_2_category": "heat",
                "samples": [
                    {
                        "input_image_file_path_list": ["data/science/img/ice.png"],
                        "input_prompt": " Heat the ice. ",
                        "output_prompt": "A puddle of water.",
                    },
                ],
            },
            {
                "level_1_category": "chemistry",
                "level_2_category": "gas",
                "samples": [
                    {
                        "input_image_file_path_list": ["data/science/img/ice.png"],
                        "input_prompt": "Add vinegar.",
                        "output_prompt": "Foam rises.",
                    },
                ],
            },
        ],
    )
    svg = data / "svg"
    svg.mkdir(parents=True, exist_ok=True)
    (svg / "a.svg").write_text('<svg width="8" height="8"><circle r="3" fill="#E74C3C"/></svg>')
    _png(svg / "a.png", "#E74C3C")
    _json(svg / "metadata.json", {"samples": [{"id": "s7", "svg": "a.svg", "png": "a.png"}]})


def write_data(root: Path) -> Path:
    """Write the whole release folder under `root` and return `root` (which holds `data/`)."""
    data = root / "data"
    write_maze(data)
    write_sliding(data)
    write_others(data)
    return root
