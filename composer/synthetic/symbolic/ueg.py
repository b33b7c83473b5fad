"""The symbolic specialists' UEG skills: rewrite, revise, derive checks, paint and judge.

- `rewrite`: the reasoner turns a prompt that needs reasoning into an explicit scene
  description by computing (`ueg_reason`); the naive unified model does the same with slips.
- `revise_from_request`: recompute after a failed verification, asking for more spacing when
  counts came out wrong.
- `derive_checks`: the yes/no questions an image must pass, from the reasoner's own scene.
- `render`: the painter (`ueg_paint`): explicit descriptions exactly, anything else literally.
- `answer_yes_no`: the pixel-reading judge (`ueg_vision`).

Everything here sees only the request text and the pixels.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from composer.agents.revise import REVISE_PROMPT
from composer.synthetic.symbolic.ueg_paint import paint
from composer.synthetic.symbolic.ueg_reason import Mind, ReasoningError, solve
from composer.synthetic.symbolic.ueg_vision import Blob, answer_question, find_blobs, read_question
from composer.synthetic.symbolic.vocabulary import QUESTION_EXAMPLES, NotUnderstood
from composer.synthetic.vocab import (
    COLOURS,
    describe,
    parse_description,
    scene_checks,
)

__all__ = [
    "Blob",
    "answer_from_shapes",
    "answer_yes_no",
    "derive_checks",
    "find_blobs",
    "render",
    "revise_from_request",
    "rewrite",
]


def rewrite(prompt: str, *, naive: bool) -> str:
    """Refine a UEG prompt into an explicit scene description.

    Raises:
        NotUnderstood: the prompt cannot be worked out (the reason says why).

    Example:
        >>> rewrite("Draw 2 red circles and twice as many blue squares.", naive=False)
        'Draw on a white canvas, scattered: 2 red circles, 4 blue squares.'
    """
    if parse_description(prompt) is not None:
        return prompt.strip()
    try:
        return describe(solve(prompt, Mind(prompt, naive=naive)))
    except ReasoningError as exc:
        raise NotUnderstood(str(exc)) from None


# The revise prompt's fixed text around the original prompt and the rewrite it was drawn from.
_REVISE_HEAD, _REVISE_MIDDLE, _REVISE_TAIL = re.split(r"\{prompt\}|\{rewrite\}", REVISE_PROMPT)
_ORIGINAL = re.compile(
    re.escape(_REVISE_HEAD.rsplit("\n", 1)[1])
    + "(.*?)"
    + re.escape(_REVISE_MIDDLE)
    + "(.*?)"
    + re.escape(_REVISE_TAIL.split("{failures}")[0]),
    re.S,
)
_COUNT_WORDS = ("exactly", "more", "any")


def revise_from_request(request: str, *, naive: bool) -> str:
    """Answer a revise request: recompute the scene, spaced out if counts failed.

    The naive model thinks again with fresh slips, so a second try may fix its own mistake.
    """
    m = _ORIGINAL.search(request)
    if m is None:
        raise NotUnderstood("it cannot find the original prompt in this revise request.")
    original, used = m.group(1).strip(), m.group(2).strip()
    failures = request[m.end() :].lower()
    try:
        scene = solve(original, Mind(original, naive=naive, salt=f"revise/{used}"))
    except ReasoningError as exc:
        raise NotUnderstood(str(exc)) from None
    if any(word in failures for word in _COUNT_WORDS) and not scene.in_row:
        scene = type(scene)(scene.groups, in_row=False, spaced=True)
    return describe(scene)


def derive_checks(prompt: str) -> list[tuple[str, str]]:
    """The yes/no checks (question, expected answer) an image for `prompt` must pass.

    Computed from the reasoner's own scene.

    Raises:
        NotUnderstood: the prompt cannot be worked out.
    """
    scene = parse_description(prompt)
    if scene is None:
        try:
            scene = solve(prompt, Mind(prompt, naive=False))
        except ReasoningError as exc:
            raise NotUnderstood(str(exc)) from None
    used = {g.colour for g in scene.groups}
    absent = next(c for c in COLOURS if c not in used)
    return scene_checks(scene, absent_colour=absent)


def render(prompt: str, seed: int, *, naive: bool) -> Image.Image:
    """Paint `prompt` (256x256 RGB, white background); see `ueg_paint.paint`."""
    return paint(prompt, seed, naive=naive)


def answer_yes_no(question: str, pixels: np.ndarray) -> str:
    """Answer a yes/no verification question from the pixels: 'Yes' or 'No'.

    Raises:
        NotUnderstood: the question is in none of the forms it reads.
    """
    answer = answer_question(question, pixels)
    if answer is None:
        raise _not_a_question(question)
    return answer


def answer_from_shapes(question: str, shapes: list[Blob]) -> str:
    """`answer_yes_no` about an image whose shapes `find_blobs` has already found.

    Raises:
        NotUnderstood: the question is in none of the forms it reads.
    """
    truth = read_question(question, shapes)
    if truth is None:
        raise _not_a_question(question)
    return "Yes" if truth else "No"


def _not_a_question(question: str) -> NotUnderstood:
    return NotUnderstood(
        "it reads yes/no questions in its forms only (e.g. "
        f"{QUESTION_EXAMPLES['count']!r}), and this is none of them: {question[:80]!r}."
    )
