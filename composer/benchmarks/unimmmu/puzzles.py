"""The maze and sliding items: few-shot demonstrations, k step calls, ground-truth moves and frames.

Maze follows `sample_code_example/gpt/maze.py` (every `*/maze_step_0000.png` under
`data/maze`, sorted, the demonstration 00015 left out); sliding follows `sliding.py` (the items
of `summary_steps_le_8.json` when present). The ground truth is found as the scorer finds it
(`_derive_gt_json_path`, `_derive_gt_files`).
"""

from __future__ import annotations

import re
from pathlib import Path

from composer.benchmarks.unimmmu import prompts as P
from composer.benchmarks.unimmmu.folder import Folder, sanitize
from composer.benchmarks.unimmmu.records import (
    Call,
    Expected,
    ImagePart,
    Item,
    MazeReferences,
    SlidingReferences,
    Task,
    TextPart,
)
from composer.core.errors import DataError

MAZE_DEMO_ID = "00015"
_MAZE_DIR = re.compile(r"^(?P<prefix>maze_(?P<h>\d+)x(?P<w>\d+))_(?P<id>\d{5})_steps$")
_SLIDING_DIR = re.compile(r"^(.*?_3x3)_(\d{5})_steps$")


def _moves(folder: Folder, path: Path, key: str, where: str) -> tuple[str, ...]:
    data = folder.json(str(path.relative_to(folder.data)))
    moves = data.get(key) if isinstance(data, dict) else None
    if not isinstance(moves, list) or not moves or not all(isinstance(m, str) for m in moves):
        raise DataError(
            f"{path.name} ({where})", f"field '{key}' must be a non-empty list of moves."
        )
    return tuple(moves)


def _step(i: int, text_suffix: str, stem: str) -> tuple[Call, Call]:
    """Step `i` of the loop: its text call (the move), then its image call (the frame)."""
    saved = f"cand_01/{stem}_step_{i:04d}.png"
    return (
        Call(output="text", suffix=text_suffix, feed_back=True),
        Call(output="image", suffix=P.step_image_suffix(i), feed_back=True, saved_as=saved),
    )


def _final(final_suffix: str) -> Call:
    return Call(output="text", suffix=final_suffix, feed_back=False, saved_as="model_text.txt")


def step_calls(k: int, final_suffix: str, stem: str) -> tuple[Call, ...]:
    """The sample script's loop for k steps: a text then an image call per step, a final text.

    With k given (the release's protocol) these are the calls; a run that withholds k lets
    the system decide how many steps it takes (`open_step_calls`).
    """
    calls = [c for i in range(1, k + 1) for c in _step(i, P.step_text_suffix(i), stem)]
    return (*calls, _final(final_suffix))


DEFAULT_MAX_STEPS = 36
"""The step cap when k is withheld and `[benchmark] max_steps` is unset. Every shortest
solution of the release's boards fits under it: a 6x6 maze has 36 cells (a path of at most 35
moves) and a 3x3 sliding puzzle never needs more than 31 moves."""


def open_step_calls(item: Item, max_steps: int) -> tuple[Call, ...]:
    """The maze or sliding loop with k withheld: up to `max_steps` steps, then the final call.

    Each step is the release's text call, its suffix followed by composer's stop sentence
    (`prompts.open_step_text_suffix`), then the release's image call; the final call is the
    release's. A graph ends the loop at the first step reply holding `prompts.STOP_MARKER`
    (no image is drawn for that step) and goes on to the final call, so the number of steps is
    the system's, never k, and at most `max_steps`.

    Raises:
        ValueError: for an item whose k the release does not tell (not maze or sliding).
    """
    refs = item.references
    if isinstance(refs, MazeReferences):
        stem = refs.step0.stem
    elif isinstance(refs, SlidingReferences):
        stem = refs.initial.stem
    else:
        raise ValueError(f"{item.task.value} has no step loop")
    task = item.task.value
    steps = [
        c for i in range(1, max_steps + 1) for c in _step(i, P.open_step_text_suffix(i, task), stem)
    ]
    return (*steps, _final(item.calls[-1].suffix))


def _step_frames(steps_dir: Path) -> tuple[Path, ...]:
    """The GT step images as the scorer lists them: every PNG without "0000", sorted."""
    return tuple(sorted(p for p in steps_dir.glob("*.png") if "0000" not in p.name))


def read_maze(folder: Folder) -> list[Item]:
    """The maze items, in the sample script's order (sorted step-0 paths, demo left out)."""
    root = folder.data / "maze"
    demo = root / f"maze_6x6_{MAZE_DEMO_ID}_steps"
    context: list[TextPart | ImagePart] = []
    if (demo / "maze_step_0000.png").is_file():
        context += [
            ImagePart(path=demo / "maze_step_0000.png"),
            TextPart(text="DEMONSTRATION: Example problem image above."),
        ]
    for i in (1, 2):
        if (demo / f"maze_step_{i:04d}.png").is_file():
            context += [
                ImagePart(path=demo / f"maze_step_{i:04d}.png"),
                TextPart(text=f"DEMONSTRATION: example step image #{i}."),
            ]
    demo_json = root / f"maze_6x6_steps_{MAZE_DEMO_ID}.json"
    if demo_json.is_file():
        shown = P.demo_moves(_moves(folder, demo_json, "steps_long", "demonstration"))
        context.append(
            TextPart(text=f"DEMONSTRATION: final moves\n<ANSWER_JSON>{shown}</ANSWER_JSON>")
        )
    items = []
    for step0 in sorted(root.rglob("*/maze_step_0000.png")):
        match = _MAZE_DIR.match(step0.parent.name)
        where = str(step0.parent)
        if match is None:
            raise DataError(where, "is not named maze_<h>x<w>_<id>_steps.", "Check the data.")
        if match["id"] == MAZE_DEMO_ID:
            continue
        moves_json = step0.parent.parent / f"{match['prefix']}_steps_{match['id']}.json"
        if not moves_json.is_file():
            raise DataError(where, f"has no moves file ({moves_json.name}).", "Check the data.")
        # The scorer reads `steps_long` only (the sampler falls back to `steps`): required here.
        lowered = tuple(m.lower() for m in _moves(folder, moves_json, "steps_long", where))
        refs = MazeReferences(
            step0=step0, moves_json=moves_json, moves=lowered, frames=_step_frames(step0.parent)
        )
        items.append(
            Item(
                task=Task.MAZE,
                id=f"case_{match['id']}",
                context=(*context, TextPart(text=P.MAZE_PROMPT), ImagePart(path=step0)),
                calls=step_calls(len(lowered), P.MAZE_FINAL_SUFFIX, step0.stem),
                expected=Expected(
                    images=len(lowered), text_tags=("<ANSWER_JSON>", "</ANSWER_JSON>"), k_given=True
                ),
                references=refs,
                result_fields={"step0": folder.relative(step0)},
            )
        )
    return items


def _sliding_demo(folder: Folder) -> list[TextPart | ImagePart]:
    demo = folder.data / "sliding" / "demo_3x3_00001_steps"
    parts: list[TextPart | ImagePart] = [TextPart(text="--- DEMONSTRATION START ---")]
    for label, name in (("The initial state.", "0000"), ("The final state to reach.", "0003")):
        if (demo / f"demo_step_{name}.png").is_file():
            parts += [
                TextPart(text=f"DEMONSTRATION: {label}"),
                ImagePart(path=demo / f"demo_step_{name}.png"),
            ]
    parts.append(
        TextPart(
            text="DEMONSTRATION: The sequence of moves to solve the puzzle (one image per move)."
        )
    )
    parts += [
        ImagePart(path=demo / f"demo_step_{i:04d}.png")
        for i in (1, 2)
        if (demo / f"demo_step_{i:04d}.png").is_file()
    ]
    demo_json = folder.data / "sliding" / "demo_3x3_steps_words_00001.json"
    if demo_json.is_file():
        moves = P.demo_moves(_moves(folder, demo_json, "steps_words", "demonstration"))
        parts += [
            TextPart(text="DEMONSTRATION: The final moves list in JSON format."),
            TextPart(text=f"<ANSWER_JSON>{moves}</ANSWER_JSON>"),
        ]
    parts.append(TextPart(text="--- DEMONSTRATION END ---"))
    return parts


def _sliding_dirs(folder: Folder) -> list[tuple[str, Path]]:
    """(case name, steps folder) per item.

    From `summary_steps_le_8.json` as the sample script reads it when present (its subset and
    order), else every `<p>_3x3_<id>_steps` folder but the demonstration.
    """
    root = folder.data / "sliding"
    summary = root / "summary_steps_le_8.json"
    if not summary.is_file():
        return [
            (p.name, p)
            for p in sorted(root.glob("*_steps"))
            if p.is_dir() and _SLIDING_DIR.match(p.name) and not p.name.startswith("demo_")
        ]
    data = folder.json("sliding/summary_steps_le_8.json")
    records = data.get("items") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise DataError(str(summary), "must hold an 'items' list.")
    found = []
    bases = [folder.root, folder.data, root]
    for index, rec in enumerate(records):
        where = f"{summary.name} item {index}"
        if not isinstance(rec, dict):
            raise DataError(where, "must be an object.")
        steps = rec.get("steps_dir") or rec.get("step_dir") or rec.get("steps_path")
        if isinstance(steps, str) and steps:
            steps_dir = next((b / steps for b in bases if (b / steps).is_dir()), None)
            if steps_dir is None:
                raise DataError(where, f"field 'steps_dir' names a missing folder ({steps!r}).")
        else:
            init = rec.get("initial_png") or rec.get("init_png") or rec.get("init")
            steps_dir = folder.find(init, bases, where, "initial_png").parent
        name = rec.get("case_name") or rec.get("id") or steps_dir.name
        found.append((str(name), steps_dir))
    return found


def read_sliding(folder: Folder) -> list[Item]:
    """The sliding items (see `_sliding_dirs`).

    The ground truth is derived from the initial frame's folder as the scorer derives it
    (`_derive_gt_files`).
    """
    context = [
        *_sliding_demo(folder),
        TextPart(text=P.SLIDING_PROMPT),
        TextPart(text=P.SLIDING_NEW_TASK),
        TextPart(text=P.SLIDING_INITIAL),
    ]
    items = []
    for name, steps_dir in _sliding_dirs(folder):
        match = _SLIDING_DIR.match(steps_dir.name)
        where = str(steps_dir)
        if match is None:
            raise DataError(where, "is not named <prefix>_3x3_<id>_steps.", "Check the data.")
        pngs = sorted(steps_dir.glob("*.png"))
        initial = next((p for p in pngs if "0000" in p.name), None)
        if initial is None or len(pngs) < 2:
            raise DataError(
                where, "needs a step-0000 image and at least one more.", "Check the data."
            )
        moves_json = steps_dir.parent / f"{match[1]}_steps_words_{match[2]}.json"
        if not moves_json.is_file():
            raise DataError(where, f"has no moves file ({moves_json.name}).", "Check the data.")
        moves = _moves(folder, moves_json, "steps_words", where)
        refs = SlidingReferences(
            initial=initial,
            final=pngs[-1],
            moves_json=moves_json,
            moves=moves,
            frames=_step_frames(steps_dir),
        )
        items.append(
            Item(
                task=Task.SLIDING,
                id=sanitize(f"case_{name}"),
                context=(*context, ImagePart(path=initial), TextPart(text=P.SLIDING_FINAL_SAME)),
                calls=step_calls(len(moves), P.SLIDING_FINAL_SUFFIX, initial.stem),
                expected=Expected(
                    images=len(moves), text_tags=("<ANSWER_JSON>", "</ANSWER_JSON>"), k_given=True
                ),
                references=refs,
                result_fields={"init_png": folder.relative(initial)},
            )
        )
    return items
