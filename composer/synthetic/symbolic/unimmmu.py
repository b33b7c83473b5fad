"""The symbolic models' Uni-MMMU skills: which release request this is, and its answer.

A request is recognised only by the release's own words (`composer.benchmarks.unimmmu.prompts`):
the task's prompt somewhere in the request text, and the call's suffix at its end. The images
are the context's images in order; the current frame is the last one. `reply` and `edit` return
None for a request that carries no Uni-MMMU task prompt (it is someone else's), and raise
`RefusalError` for a task call they do not know or a frame they cannot read, never a guess.

The solver (`naive=False`) reads the board from pixels and searches: breadth-first for mazes,
A* for sliding puzzles, the seams for jigsaws. The naive unified model answers in the right
shape without solving: it steps toward the goal through walls, cycles through legal slides
without looking at the final state, picks the jigsaw candidate by mean colour, and returns
its input image unchanged for every image call.

With k withheld, a step call also offers to end the loop (`prompts.open_step_text_suffix`).
The solver answers `prompts.STOP_MARKER` once the board it tracks (the problem moved by its
own steps so far) is solved. The naive model stops a maze when its straight route through the
walls is used up, believing it arrived, and never stops a sliding puzzle: it never looks at
the final state, so it runs to the cap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import numpy as np
from PIL import Image

from composer.benchmarks.unimmmu import prompts as P
from composer.core.errors import RefusalError
from composer.synthetic.symbolic import unimmmu_boards as boards
from composer.synthetic.symbolic import unimmmu_jigsaw as jigsaw
from composer.synthetic.unimmmu_vocab import (
    ANSWER_TAG,
    FINAL_ANSWER_TAG,
    MAZE_DEMO_IMAGES,
    MOVES,
    SLIDING_DEMO_FINAL,
    SLIDING_DEMO_INITIAL,
    SLIDING_DEMO_STEPS,
    STEP_SENTENCE,
)

TASK_PROMPTS = {
    "maze": P.MAZE_PROMPT.strip(),
    "sliding": P.SLIDING_PROMPT.strip(),
    "jigsaw": P.JIGSAW_PROMPT.strip(),
}
"""Each Uni-MMMU task by the prompt that names it."""


def _suffix_pattern(suffix_of: Callable[[int], str]) -> re.Pattern[str]:
    """A call suffix with any step number, at the end of the request."""
    marker = 987654321
    text = re.escape(suffix_of(marker).rstrip())
    return re.compile(text.replace(str(marker), r"(\d+)") + r"\Z")


_STEP_TEXT = _suffix_pattern(P.step_text_suffix)


def _open_step_pattern(task: str) -> re.Pattern[str]:
    """The step suffix with k withheld: the release's, then the task's stop sentence."""
    return _suffix_pattern(lambda i: P.open_step_text_suffix(i, task))


_OPEN_STEP_TEXT = {task: _open_step_pattern(task) for task in P.STOP_INSTRUCTIONS}
_STEP_IMAGE = _suffix_pattern(P.step_image_suffix)
_ANSWER = re.compile(r"<ANSWER_JSON>\s*(\[.*?\])\s*</ANSWER_JSON>", re.DOTALL)
_SENTENCE = re.compile(
    re.escape(STEP_SENTENCE).replace(re.escape("{move}"), "(" + "|".join(MOVES) + ")")
)


def task_of(prompt: str) -> str | None:
    """The Uni-MMMU task whose prompt the request carries, if any."""
    return next((task for task, text in TASK_PROMPTS.items() if text in prompt), None)


def _refuse(model: str, what: str) -> RefusalError:
    return RefusalError(
        f"model 'symbolic/{model}'",
        f"{what}.",
        "It answers the Uni-MMMU sample scripts' calls for maze, sliding and jigsaw only.",
    )


def _steps_taken(prompt: str, task: str) -> list[str]:
    """The step sentences the context holds after the task prompt, as moves."""
    after = prompt[prompt.index(TASK_PROMPTS[task]) + len(TASK_PROMPTS[task]) :]
    return _SENTENCE.findall(after)


def _answer(moves: list[str]) -> str:
    return ANSWER_TAG.format(moves=json.dumps(moves))


def reply(prompt: str, pixels: list[np.ndarray], *, model: str, naive: bool) -> str | None:
    """The text answer to a Uni-MMMU text call, or None if `prompt` is not a Uni-MMMU call."""
    task = task_of(prompt)
    if task is None:
        return None
    text = prompt.rstrip()
    try:
        if task == "jigsaw":
            if not text.endswith(P.JIGSAW_TEXT_SUFFIX.rstrip()):
                raise _refuse(model, "this jigsaw call is not the release's text call")
            return _jigsaw_choice(pixels, model=model, naive=naive)
        step = _STEP_TEXT.search(text)
        can_stop = step is None and _OPEN_STEP_TEXT[task].search(text) is not None
        if can_stop:
            step = _OPEN_STEP_TEXT[task].search(text)
        final = P.MAZE_FINAL_SUFFIX if task == "maze" else P.SLIDING_FINAL_SUFFIX
        if step is None and not text.endswith(final.rstrip()):
            raise _refuse(model, f"this {task} call is neither a step call nor the final call")
        if task == "maze":
            return _maze_text(prompt, pixels, step, model=model, naive=naive, can_stop=can_stop)
        return _sliding_text(prompt, pixels, step, model=model, naive=naive, can_stop=can_stop)
    except boards.UnreadableFrame as exc:
        raise _refuse(model, f"cannot read the {task} frame ({exc})") from exc


def _frame(pixels: list[np.ndarray], index: int, model: str) -> np.ndarray:
    if not -len(pixels) <= index < len(pixels):
        raise _refuse(model, f"the request shows {len(pixels)} images, not the one it needs")
    return pixels[index]


def _demonstration(prompt: str, task: str) -> str:
    """The text before the task prompt: the few-shot demonstration."""
    return prompt[: prompt.index(TASK_PROMPTS[task])]


def _problem_index(prompt: str, task: str) -> int:
    """Where the problem image is: right after the demonstration's images.

    A maze demonstration labels each of its images; a sliding one labels its initial and
    final states, then shows its intermediate states, one fewer than its moves.
    """
    demo = _demonstration(prompt, task)
    if task == "maze":
        return sum(demo.count(label) for label in MAZE_DEMO_IMAGES)
    shown = int(SLIDING_DEMO_INITIAL in demo) + int(SLIDING_DEMO_FINAL in demo)
    moves = _ANSWER.search(demo)
    if SLIDING_DEMO_STEPS in demo and moves is not None:
        shown += max(len(json.loads(moves.group(1))) - 1, 0)
    return shown


def _toward(agent: tuple[int, int], goal: tuple[int, int]) -> list[str]:
    """The naive route: rows first, then columns, straight through any wall."""
    dr, dc = goal[0] - agent[0], goal[1] - agent[1]
    return ["down" if dr > 0 else "up"] * abs(dr) + ["right" if dc > 0 else "left"] * abs(dc)


def _maze_text(
    prompt: str,
    pixels: list[np.ndarray],
    step: re.Match[str] | None,
    *,
    model: str,
    naive: bool,
    can_stop: bool = False,
) -> str:
    taken = _steps_taken(prompt, "maze")
    if naive:
        # It never tracks progress: its straight route from the last image, by step number.
        view = boards.read_maze(_frame(pixels, -1, model))
        route = _toward(view.agent, view.goal)
        if step is None:
            return _answer(taken or route)
        if can_stop and int(step.group(1)) > len(route):
            return P.STOP_MARKER  # its straight route is used up: it believes it arrived
        index = (int(step.group(1)) - 1) % max(len(route), 1)
        return STEP_SENTENCE.format(move=route[index] if route else "up")
    problem = boards.read_maze(_frame(pixels, _problem_index(prompt, "maze"), model))
    if step is None:
        return _answer(boards.solve_maze(problem))
    # The dot where its own moves so far have taken it (with or without the drawn frames).
    route = boards.solve_maze(boards.walk(problem, taken))
    if not route:
        return P.STOP_MARKER if can_stop else "The blue dot is already on the goal."
    return STEP_SENTENCE.format(move=route[0])


def _goal_board(prompt: str, pixels: list[np.ndarray], model: str) -> boards.Board:
    """The final state: the demonstration's (the release says the new one is the same)."""
    if SLIDING_DEMO_FINAL not in prompt:
        raise _refuse(model, "the sliding call shows no final state to reach")
    index = 1 if SLIDING_DEMO_INITIAL in prompt else 0
    if len(pixels) <= index:
        raise _refuse(model, "the demonstration's final state is not among the images")
    return boards.read_sliding(pixels[index]).board


def _sliding_text(
    prompt: str,
    pixels: list[np.ndarray],
    step: re.Match[str] | None,
    *,
    model: str,
    naive: bool,
    can_stop: bool = False,
) -> str:
    taken = _steps_taken(prompt, "sliding")
    if naive:
        board = boards.read_sliding(_frame(pixels, -1, model)).board
        legal = boards.legal_slides(board)
        if step is None:
            return _answer(taken or legal[:1])
        return STEP_SENTENCE.format(move=legal[(int(step.group(1)) - 1) % len(legal)])
    goal = _goal_board(prompt, pixels, model)
    index = _problem_index(prompt, "sliding")
    board = boards.read_sliding(_frame(pixels, index, model)).board
    if step is not None:
        board = boards.slide_all(board, taken)
    route = boards.solve_sliding(board, goal)
    if step is None:
        return _answer(route)
    if not route:
        return P.STOP_MARKER if can_stop else "The puzzle is already solved."
    return STEP_SENTENCE.format(move=route[0])


def _jigsaw_choice(pixels: list[np.ndarray], *, model: str, naive: bool) -> str:
    if len(pixels) < 3:
        raise _refuse(model, "the jigsaw call shows no reference and two candidates")
    reference, candidates = pixels[0], pixels[1:3]
    if naive:
        choice = jigsaw.choose_by_colour(reference, candidates)
        analysis = f"Candidate {choice}'s colours match the reference best."
        rationale = "Its colours fit the picture."
    else:
        choice, jumps = jigsaw.choose(reference, candidates)
        analysis = (
            f"Seam continuity: pasted into the bottom-right cell, candidate 0 jumps by "
            f"{jumps[0]:.1f} and candidate 1 by {jumps[1]:.1f} on average across the edges."
        )
        rationale = f"Candidate {choice} continues the strokes and colours across both seams."
    body = json.dumps({"choice": choice, "rationale": rationale})
    return f"{analysis}\n{FINAL_ANSWER_TAG.format(body=body)}"


def refuse_without_images(prompt: str, *, model: str) -> None:
    """Refuse a Uni-MMMU call made as text-to-image: every one of them edits its context."""
    task = task_of(prompt)
    if task is not None:
        raise _refuse(model, f"a {task} image call needs the context's images (an edit)")


def edit(prompt: str, pixels: list[np.ndarray], *, model: str, naive: bool) -> Image.Image | None:
    """The image for a Uni-MMMU image call, or None if `prompt` is not a Uni-MMMU call."""
    task = task_of(prompt)
    if task is None:
        return None
    return Image.fromarray(_edit(task, prompt.rstrip(), pixels, model=model, naive=naive))


def _edit(task: str, text: str, pixels: list[np.ndarray], *, model: str, naive: bool) -> np.ndarray:
    if not pixels:
        raise _refuse(model, f"the {task} image call shows no image")
    try:
        if task == "jigsaw":
            which = [i for i, s in enumerate(P.JIGSAW_IMAGE_SUFFIXES) if text.endswith(s.rstrip())]
            if not which or len(pixels) < 3:
                raise _refuse(model, "this jigsaw call is not one of the release's image calls")
            return pixels[0].copy() if naive else jigsaw.paste(pixels[0], pixels[1 + which[0]])
        if _STEP_IMAGE.search(text) is None:
            raise _refuse(model, f"this {task} call is not the release's step image call")
        taken = _steps_taken(text, task)
        if not taken:
            raise _refuse(model, f"the {task} image call names no move ('{STEP_SENTENCE}')")
        if naive:
            return pixels[-1].copy()
        if task == "maze":
            return boards.move_dot(pixels[-1], taken[-1])
        return boards.slide_tile(pixels[-1], taken[-1])
    except boards.UnreadableFrame as exc:
        raise _refuse(model, f"cannot read the {task} frame ({exc})") from exc
