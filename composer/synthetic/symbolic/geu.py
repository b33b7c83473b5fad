"""The symbolic GEU skills: read a multiple-choice request, answer it from pixels, edit images.

The category is inferred from the question (and, for edits, from the edit instruction), never
passed in. Each category's reading and editing lives in its own module: `geu_jigsaw`
(reconstruction), `geu_tracking`, `geu_focus` (attentional focusing) and `geu_maze`
(navigation). The reasoner's mental capacity is bounded (a 2 x 2 jigsaw, two recolourings,
a coarse view, a dozen cells of corridor), so on raw inputs harder items defeat it, while an
image the painter has edited can be read directly.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from composer.benchmarks.realunify.protocol import EDIT_PROMPTS, LETTERS, MULTIPLE_CHOICE_PROMPT
from composer.synthetic.symbolic import geu_focus, geu_jigsaw, geu_maze, geu_tracking
from composer.synthetic.symbolic.geu_pixels import Pixels
from composer.synthetic.symbolic.vocabulary import NotUnderstood, edit_categories

_HEAD, _REST = MULTIPLE_CHOICE_PROMPT.split("{question}")
_MIDDLE, _TAIL = _REST.split("{options}")
_OPTION = re.compile(r"^([A-D])\. ?(.*)$")


def parse_choice_request(text: str) -> tuple[str, list[str]] | None:
    """Read a filled multiple-choice template back into (question, option texts).

    Returns None when `text` is not such a request.

    Example:
        >>> from composer.benchmarks.realunify.protocol import choice_request
        >>> parse_choice_request(choice_request("Which?", ["red", "blue"]))
        ('Which?', ['red', 'blue'])
    """
    if not (text.startswith(_HEAD) and text.endswith(_TAIL)):
        return None
    body = text[len(_HEAD) : len(text) - len(_TAIL)]
    if _MIDDLE not in body:
        return None
    question, block = body.rsplit(_MIDDLE, 1)
    options: list[str] = []
    for i, line in enumerate(block.split("\n")):
        match = _OPTION.match(line)
        if match is None or i >= len(LETTERS) or match.group(1) != LETTERS[i]:
            return None
        options.append(match.group(2))
    return (question, options) if options else None


def category_of_question(question: str) -> str | None:
    """The GEU category a question belongs to, from its wording."""
    text = question.lower()
    if geu_tracking.parse_question(question) is not None:
        return "mental_tracking"
    if "maze" in text or "exit" in text:
        return "cognitive_navigation"
    if "shuffled" in text or "original image" in text or "patches" in text:
        return "mental_reconstruction"
    if geu_focus.parse_question(question) is not None:
        return "attentional_focusing"
    return None


def _as_pixels(image: np.ndarray) -> Pixels:
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, :3]).astype(np.uint8)


def answer_choice(
    question: str, options: list[str], pixels: list[np.ndarray], *, naive: bool
) -> int:
    """Index of the chosen option, found by reading the pixels.

    `pixels` holds the images shown (H x W x 3 uint8): the raw input, an edited one, or both;
    an edited image is preferred when one is recognised. With nothing to go on (an image it
    cannot read), the pick is a deterministic guess from a hash of the pixels, question and
    option texts.

    Raises:
        NotUnderstood: the question is none of the four kinds it answers.
    """
    images = [_as_pixels(p) for p in pixels]
    if not images or not options:
        return 0
    options = list(options)
    category = category_of_question(question)
    if category == "mental_reconstruction":
        return geu_jigsaw.answer(question, options, images, naive=naive)
    if category == "mental_tracking":
        return geu_tracking.answer(question, options, images, naive=naive)
    if category == "attentional_focusing":
        return geu_focus.answer(question, options, images, naive=naive)
    if category == "cognitive_navigation":
        return geu_maze.answer(question, options, images, naive=naive)
    raise NotUnderstood(
        "it answers the synthetic suite's four kinds of question (patches, seven-segment "
        f"digits, counting, mazes), and this is none of them: {question[:80]!r}."
    )


def _edit_parts(prompt: str) -> tuple[str, str] | None:
    """(category, question) of one of the GEU edit instructions."""
    for category, template in EDIT_PROMPTS.items():
        if "{question}" not in template:
            if prompt.strip() == template:
                return category, ""
            continue
        head, tail = template.split("{question}")
        if prompt.startswith(head) and prompt.endswith(tail):
            return category, prompt[len(head) : len(prompt) - len(tail)]
    return None


def edit(prompt: str, pixels: np.ndarray, seed: int, *, naive: bool) -> Image.Image:
    """Edit an image as a GEU edit instruction asks.

    Restores shuffled patches, applies recolourings, rings the targets of a counting question
    or traces the path through a maze.

    Raises:
        NotUnderstood: the instruction is none of RealUnify's four GEU edit prompts.
    """
    image = _as_pixels(pixels)
    parts = _edit_parts(prompt)
    if parts is None:
        raise NotUnderstood(
            f"it follows only RealUnify's edit prompts ({edit_categories()}), and this "
            f"instruction is none of them: {prompt[:80]!r}."
        )
    category, question = parts
    if category == "mental_reconstruction":
        out = geu_jigsaw.restore(image, naive=naive, seed=seed)
    elif category == "mental_tracking":
        out = geu_tracking.edit(question, image, naive=naive)
    elif category == "attentional_focusing":
        out = geu_focus.edit(question, image, naive=naive)
    else:
        out = geu_maze.edit(image, seed, naive=naive)
    return Image.fromarray(out)
