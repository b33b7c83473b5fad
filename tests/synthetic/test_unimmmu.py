"""The synthetic Uni-MMMU-style suite and the symbolic models that solve it (issue 23, section 5).

The generated folder is read by composer's Uni-MMMU loader unchanged; its frames parse, with the
benchmark's re-implementation of the release's parsers and with the test's own, to the grids
that were generated; every item is replayed through the sample scripts' calls (the loader's
`Item.context` and `Item.calls`) and scored by the benchmark's programmatic scorers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from unimmmu_release import parse_maze, parse_sliding

from composer.benchmarks.unimmmu import grids, scoring
from composer.benchmarks.unimmmu import prompts as P
from composer.benchmarks.unimmmu.files import load_folder
from composer.benchmarks.unimmmu.puzzles import open_step_calls
from composer.benchmarks.unimmmu.records import (
    ImagePart,
    Item,
    JigsawReferences,
    MazeReferences,
    SlidingReferences,
    Task,
)
from composer.core.errors import RefusalError
from composer.core.images import ImageStore
from composer.synthetic.suite.unimmmu import make_unimmmu_suite, write_unimmmu_suite
from composer.synthetic.suite.unimmmu_boards import sliding_ascii
from composer.synthetic.symbolic import SymbolicSpecialist, unimmmu
from composer.synthetic.unimmmu_vocab import context_text

TASKS = ("maze", "sliding", "jigsaw")
Text = Callable[[str, list[np.ndarray]], str]
Draw = Callable[[str, list[np.ndarray]], Image.Image]


@pytest.fixture(scope="module")
def suite30(tmp_path_factory: pytest.TempPathFactory) -> dict[Task, list[Item]]:
    data = write_unimmmu_suite(tmp_path_factory.mktemp("unimmmu30"), per_task=30, seed=7)
    return load_folder(data, tasks=TASKS)


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@dataclass
class Output:
    """What a system produced for one item: its kept text and its images, in order."""

    text: str
    images: list[np.ndarray]


def replay(item: Item, text: Text, draw: Draw | None) -> Output:
    """Run an item's calls as the sample script does, feeding outputs back into the context.

    Without `draw` (text only), the image calls are left out; their labels still go in.
    """
    texts: list[str] = []
    images: list[np.ndarray] = []
    for part in item.context:
        if isinstance(part, ImagePart):
            images.append(_pixels(part.path))
        else:
            texts.append(part.text)
    kept, made = "", []
    for call in item.calls:
        request = context_text(texts, call.suffix)
        if call.output == "text":
            reply = text(request, list(images))
            kept = reply if call.saved_as == "model_text.txt" else kept
        elif draw is not None:
            frame = np.asarray(draw(request, list(images)))
            made.append(frame)
        if call.feed_back:
            if call.label:
                texts.append(call.label)
            if call.output == "text":
                texts.append(reply)
            elif draw is not None:
                images.append(frame)
    return Output(kept, made)


def skills(naive: bool) -> tuple[Text, Draw]:
    """The symbolic models' Uni-MMMU skills as plain functions (reasoner+painter, or naive)."""
    reasoner, painter = ("naive-unified", "naive-unified") if naive else ("reasoner", "painter")

    def text(prompt: str, images: list[np.ndarray]) -> str:
        reply = unimmmu.reply(prompt, images, model=reasoner, naive=naive)
        assert reply is not None
        return reply

    def draw(prompt: str, images: list[np.ndarray]) -> Image.Image:
        edited = unimmmu.edit(prompt, images, model=painter, naive=naive)
        assert edited is not None
        return edited

    return text, draw


def score(item: Item, out: Output) -> dict[str, float]:
    """The release's programmatic channels (official reading) for one item."""
    refs = item.references
    if isinstance(refs, JigsawReferences):
        images = [np.array_equal(a, _pixels(b)) for a, b in zip(out.images, refs.pair, strict=True)]
        channels = scoring.jigsaw_text_channels(out.text, refs.label)
        return {"text": channels["text_correct"].official or 0.0, "image": float(all(images))}
    frames = [Image.fromarray(f) for f in out.images]
    if isinstance(refs, MazeReferences):
        moves = scoring.move_channels(out.text, refs.moves)
        expected = scoring.maze_expectation(refs.step0, refs.moves)
        assert expected is not None
        image = scoring.maze_frame_channels(frames, expected)
    else:
        assert isinstance(refs, SlidingReferences)
        moves = scoring.move_channels(out.text, refs.moves, gt_as_stored=True)
        gt = [grids.parse_sliding(p) for p in refs.frames]
        image = scoring.sliding_frame_channels(frames, gt)
    return {
        "text": moves["text_exact"].official or 0.0,
        "text_step": moves["text_frame_acc"].official or 0.0,
        "image": image["img_exact"].official or 0.0,
        "image_step": image["img_frame_acc"].official or 0.0,
    }


def mean_scores(items: list[Item], naive: bool) -> dict[str, float]:
    """The scorers' channels, averaged over `items`."""
    text, draw = skills(naive)
    rows = [score(item, replay(item, text, draw)) for item in items]
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def quick_scores(item: Item, out: Output) -> dict[str, float]:
    """Move lists by the scorers; frames by pixel identity with the dataset's step frames
    (which parse to the generated grids, `test_frames_parse_to_the_generated_grids`)."""
    refs = item.references
    if isinstance(refs, JigsawReferences):
        truth = [_pixels(p) for p in refs.pair]
        moves = scoring.jigsaw_text_channels(out.text, refs.label)["text_correct"]
        exact = moves.official or 0.0
    else:
        assert isinstance(refs, MazeReferences | SlidingReferences)
        truth = [_pixels(p) for p in refs.frames]
        channels = scoring.move_channels(out.text, refs.moves, gt_as_stored=True)
        exact = channels["text_exact"].official or 0.0
    same = [np.array_equal(a, b) for a, b in zip(out.images, truth, strict=False)]
    return {"text": exact, "image_step": sum(same) / len(truth)}


def test_the_loader_reads_the_folder_unchanged(tmp_path: Path) -> None:
    data = write_unimmmu_suite(tmp_path, per_task=4, seed=3)
    assert data == tmp_path / "data"
    items = load_folder(data, tasks=TASKS)
    assert {task: len(found) for task, found in items.items()} == dict.fromkeys(
        (Task.MAZE, Task.SLIDING, Task.JIGSAW), 4
    )
    suite = make_unimmmu_suite(per_task=4, seed=3)
    maze_moves = {f"case_{i}": m.moves for i, m in suite.mazes}
    assert {it.id: it.references.moves for it in items[Task.MAZE]} == maze_moves  # type: ignore[union-attr]
    labels = [it.references.label for it in items[Task.JIGSAW]]  # type: ignore[union-attr]
    assert labels == [j.label for _, j in suite.jigsaws]
    for item in items[Task.SLIDING]:
        refs = item.references
        assert isinstance(refs, SlidingReferences)
        assert len(refs.frames) == len(refs.moves) == item.expected.images
    assert "00015" not in " ".join(maze_moves)


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    a = write_unimmmu_suite(tmp_path / "a", per_task=3, seed=5)
    b = write_unimmmu_suite(tmp_path / "b", per_task=3, seed=5)
    c = write_unimmmu_suite(tmp_path / "c", per_task=3, seed=6)
    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


def test_frames_parse_to_the_generated_grids(tmp_path: Path) -> None:
    data = write_unimmmu_suite(tmp_path, per_task=5, seed=11)
    suite = make_unimmmu_suite(per_task=5, seed=11)
    for maze_id, maze in [*suite.mazes, ("00015", suite.maze_demo)]:
        for step, agent in enumerate(maze.positions()):
            frame = data / f"maze/maze_6x6_{maze_id}_steps/maze_step_{step:04d}.png"
            assert parse_maze(frame)["grid"] == maze.grid(agent), (maze_id, step)
            assert grids.parse_maze(frame).grid == maze.grid(agent), (maze_id, step)
    for case_id, puzzle in suite.slidings:
        for step, board in enumerate(puzzle.boards()):
            frame = data / f"sliding/sliding_3x3_{case_id}_steps/sliding_step_{step:04d}.png"
            assert parse_sliding(frame) == sliding_ascii(board), (case_id, step)
            assert grids.parse_sliding(frame) == sliding_ascii(board), (case_id, step)
    demo = suite.sliding_demo.boards()
    assert demo[-1] == suite.goal and len(demo) == 4
    assert all(p.boards()[-1] == suite.goal for _, p in suite.slidings)


def test_the_solver_solves_every_item_and_the_naive_model_does_not(
    suite30: dict[Task, list[Item]],
) -> None:
    for task, items in suite30.items():
        assert len(items) == 30
        rates = {}
        for naive in (False, True):
            text, draw = skills(naive)
            rows = [quick_scores(item, replay(item, text, draw)) for item in items]
            rates[naive] = {k: float(np.mean([row[k] for row in rows])) for k in rows[0]}
        assert rates[False] == {"text": 1.0, "image_step": 1.0}, task
        assert rates[True]["text"] <= 0.6 and rates[True]["image_step"] <= 0.1, (task, rates)
        if task is not Task.JIGSAW:
            assert rates[True]["text"] <= 0.3, (task, rates)


def test_the_solver_answers_text_only_without_drawing(suite30: dict[Task, list[Item]]) -> None:
    for naive in (False, True):
        text, _ = skills(naive)
        for task in (Task.MAZE, Task.SLIDING, Task.JIGSAW):
            outs = [(item, replay(item, text, None)) for item in suite30[task][:10]]
            rates = [quick_scores(item, out)["text"] for item, out in outs]
            assert all(not out.images for _, out in outs)
            if naive:
                assert np.mean(rates) <= 0.6, task
            else:
                assert rates == [1.0] * 10, task


def test_the_release_scorers_score_the_solver_full_and_the_naive_model_low(
    suite30: dict[Task, list[Item]],
) -> None:
    for task, items in suite30.items():
        solved = mean_scores(items[:6], naive=False)
        assert set(solved.values()) == {1.0}, (task, solved)
        naive = mean_scores(items[:6], naive=True)
        assert naive["image"] == 0.0, (task, naive)
        if task is not Task.JIGSAW:
            assert naive["text_step"] <= 0.5 and naive["image_step"] <= 0.3, (task, naive)


def test_the_models_answer_through_the_specialist(tmp_path: Path) -> None:
    data = write_unimmmu_suite(tmp_path / "suite", per_task=2, seed=1)
    store = ImageStore(tmp_path / "images")
    reasoner, painter, naive = (
        SymbolicSpecialist.from_name(name, {}, images=store)
        for name in ("reasoner", "painter", "naive-unified")
    )

    def via(model: SymbolicSpecialist, as_text: bool) -> Callable[..., object]:
        def call(prompt: str, images: list[np.ndarray]) -> object:
            refs = [store.put(Image.fromarray(i), text={}) for i in images]
            if as_text:
                return asyncio.run(model.understand(prompt, refs)).text
            return store.open(asyncio.run(model.edit(prompt, refs, seed=0)))

        return call

    for items in load_folder(data, tasks=TASKS).values():
        for item in items:
            composed = score(item, replay(item, via(reasoner, True), via(painter, False)))  # type: ignore[arg-type]
            unified = score(item, replay(item, via(naive, True), via(naive, False)))  # type: ignore[arg-type]
            assert set(composed.values()) == {1.0}, (item.id, composed)
            assert unified["image"] == 0.0, (item.id, unified)


def _first_call(item: Item, index: int = 0) -> tuple[str, list[np.ndarray]]:
    texts = [p.text for p in item.context if not isinstance(p, ImagePart)]
    images = [_pixels(p.path) for p in item.context if isinstance(p, ImagePart)]
    return context_text(texts, item.calls[index].suffix), images


def test_requests_it_does_not_know_are_refused(suite30: dict[Task, list[Item]]) -> None:
    maze = suite30[Task.MAZE][0]
    prompt, images = _first_call(maze)
    assert unimmmu.reply(prompt, images, model="reasoner", naive=False) is not None
    for naive in (False, True):
        with pytest.raises(RefusalError, match="neither a step call nor the final call"):
            unimmmu.reply(prompt + "\nDescribe the maze.", images, model="reasoner", naive=naive)
        with pytest.raises(RefusalError, match="names no move"):
            unimmmu.edit(_first_call(maze, 1)[0], images, model="painter", naive=naive)
    with pytest.raises(RefusalError, match="not the release's step image call"):
        unimmmu.edit(prompt, images, model="painter", naive=False)
    with pytest.raises(RefusalError, match="cannot read the maze frame"):
        blank = [*images[:-1], np.full((64, 64, 3), 255, np.uint8)]
        unimmmu.reply(prompt, blank, model="reasoner", naive=False)
    with pytest.raises(RefusalError, match="not the one it needs"):
        unimmmu.reply(prompt, images[:2], model="reasoner", naive=False)
    jigsaw = suite30[Task.JIGSAW][0]
    prompt, images = _first_call(jigsaw)
    with pytest.raises(RefusalError, match="not the release's text call"):
        unimmmu.reply(prompt, images, model="reasoner", naive=False)
    sliding_prompt, sliding_images = _first_call(suite30[Task.SLIDING][0])
    no_demo = sliding_prompt.replace("DEMONSTRATION: The final state to reach.", "")
    with pytest.raises(RefusalError, match="no final state"):
        unimmmu.reply(no_demo, sliding_images, model="reasoner", naive=False)
    with pytest.raises(RefusalError, match="needs the context's images"):
        unimmmu.refuse_without_images(prompt, model="painter")
    unimmmu.refuse_without_images("Draw a red circle.", model="painter")
    assert unimmmu.reply("What colour is the sky?", [], model="reasoner", naive=False) is None
    assert unimmmu.edit("Make it blue.", images, model="painter", naive=False) is None


def test_answers_are_in_the_release_format(suite30: dict[Task, list[Item]]) -> None:
    text, draw = skills(naive=False)
    out = replay(suite30[Task.MAZE][0], text, draw)
    assert re.fullmatch(r"<ANSWER_JSON>\[.*\]</ANSWER_JSON>", out.text)
    out = replay(suite30[Task.JIGSAW][0], text, draw)
    body = re.search(r"<FINAL_ANSWER_JSON>(.*)</FINAL_ANSWER_JSON>", out.text)
    assert body is not None
    decision = json.loads(body.group(1))
    assert set(decision) == {"choice", "rationale"} and len(decision["rationale"].split()) <= 30
    prompt, images = _first_call(suite30[Task.SLIDING][0])
    assert prompt.endswith(P.step_text_suffix(1))
    assert re.fullmatch(r"Next, move one step (up|down|left|right)\.", text(prompt, images))


def replay_open(item: Item, text: Text, draw: Draw | None, cap: int) -> tuple[Output, int]:
    """The open loop of a run that withholds k (`puzzles.open_step_calls`), as the interleaved
    graph runs it: a step reply holding the stop marker skips to the final call. Returns the
    output and how many step text calls were made."""
    calls = open_step_calls(item, cap)
    texts = [p.text for p in item.context if not isinstance(p, ImagePart)]
    images = [_pixels(p.path) for p in item.context if isinstance(p, ImagePart)]
    kept, made, position, asked = "", [], 0, 0
    while position < len(calls):
        call = calls[position]
        position += 1
        request = context_text(texts, call.suffix)
        if call.output == "text":
            reply = text(request, list(images))
            if call.saved_as == "model_text.txt":
                kept = reply
            else:
                asked += 1
                texts.append(reply)
                if P.STOP_MARKER.lower() in reply.lower():
                    position = len(calls) - 1
        elif draw is not None:
            frame = np.asarray(draw(request, list(images)))
            made.append(frame)
            images.append(frame)
    return Output(kept, made), asked


def test_with_k_withheld_the_solver_stops_at_the_goal_it_tracks(
    suite30: dict[Task, list[Item]],
) -> None:
    text, draw = skills(naive=False)
    for task in (Task.MAZE, Task.SLIDING):
        for item in suite30[task][:8]:
            refs = item.references
            assert isinstance(refs, MazeReferences | SlidingReferences)
            k = len(refs.moves)
            out, asked = replay_open(item, text, draw, cap=k + 5)
            assert asked == k + 1, (item.id, asked)  # k moves, then the stop
            assert quick_scores(item, out) == {"text": 1.0, "image_step": 1.0}, item.id
            assert len(out.images) == k
            # Text only: it tracks the board from its own step sentences, and stops the same.
            out, asked = replay_open(item, text, None, cap=k + 5)
            assert asked == k + 1 and not out.images and quick_scores(item, out)["text"] == 1.0


def test_with_k_withheld_the_naive_model_stops_at_the_wrong_time_or_never(
    suite30: dict[Task, list[Item]],
) -> None:
    text, draw = skills(naive=True)
    cap = 12
    stops = []
    for item in suite30[Task.MAZE][:10]:
        out, asked = replay_open(item, text, draw, cap)
        stops.append(asked - 1 != len(item.references.moves))  # type: ignore[union-attr]
        # It walks its straight route through the walls, believes it arrived, and stops.
        assert asked <= cap and len(out.images) == asked - 1, item.id
        assert quick_scores(item, out)["image_step"] <= 0.5
    assert sum(stops) >= 5  # its steps are rarely the ground truth's number
    for item in suite30[Task.SLIDING][:5]:
        out, asked = replay_open(item, text, draw, cap)
        assert asked == cap and len(out.images) == cap  # it never looks at the final state
        assert quick_scores(item, out)["text"] == 0.0
