"""What the symbolic models understand, said once: their refusals and the strategy guide use it.

A symbolic model answers only the requests listed here. Anything else it refuses with the
reason (a `RefusalError`, so the instance is `refused`, counted in the report) instead of
pretending: no unchanged copy of an image it cannot edit, no blank canvas for a prompt it
cannot draw, no guessed letter for a question it cannot read. `markdown()` renders the list for
docs/strategies.md, and a test keeps the page equal to it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from composer.benchmarks.realunify.protocol import EDIT_PROMPTS
from composer.core.errors import RefusalError
from composer.synthetic.vocab import COLOURS, NUMBER_WORDS, ORDINALS, SHAPES

GUIDE = 'See "What the symbolic models understand" in docs/strategies.md.'

QUESTION_EXAMPLES: dict[str, str] = {
    "count": "Are there exactly 3 red circles?",
    "any": "Is there a blue star?",
    "all": "Are all the squares green?",
    "left": "Is the red circle to the left of the blue square?",
    "pos": "Is the second shape from the left a yellow triangle?",
    "end": "Is the rightmost shape a black star?",
    "more": "Are there more red circles than blue squares?",
}
"""One yes/no question of each form the pixel-reading judge answers (by the kind its reader
calls it); a test checks that each is read as its kind, and that no kind is missing."""

CHOICE_EXAMPLES: dict[str, str] = {
    "mental_reconstruction": "The image was cut into square patches that were then shuffled. "
    "In the original image, which shape is in the bottom-right position of the 3 x 3 "
    "arrangement of shapes?",
    "mental_tracking": "The image shows 2 digits drawn as seven-segment figures with coloured "
    "segments. Recolour every red segment yellow. Which digits do the yellow segments form at "
    "the end, read from left to right?",
    "attentional_focusing": "How many small yellow squares are there in the image?",
    "cognitive_navigation": "The image shows a maze with a green start disc and four exits "
    "marked by coloured cells. Following the open corridors from the green start, which exit "
    "do you reach?",
}
"""One multiple-choice question of each kind the reasoner answers, as the synthetic suite
words them; a test checks that each is recognised as its category."""


class NotUnderstood(Exception):
    """A symbolic skill cannot make sense of a request; the message says why and what it takes."""


S = TypeVar("S", bound="_Named")
P = ParamSpec("P")
R = TypeVar("R")


class _Named(Protocol):
    model: str


def refusing(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Turn a skill's `NotUnderstood` into the model's `RefusalError` (a `refused` instance)."""

    @functools.wraps(method)
    async def refuse_unknown(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except NotUnderstood as exc:
            raise RefusalError(
                f"model 'symbolic/{self.model}'",
                f"does not understand this {method.__name__} request: {exc}",
                GUIDE,
            ) from None

    return refuse_unknown


def _quoted(words: Iterable[str]) -> str:
    return ", ".join(f"`{w}`" for w in words)


def edit_categories() -> str:
    """The categories whose RealUnify edit prompt the painter follows."""
    return ", ".join(EDIT_PROMPTS)


def markdown() -> str:
    """The strategy guide's section on the symbolic models, generated from their vocabulary."""
    questions = "\n".join(f"  - {QUESTION_EXAMPLES[k]}" for k in QUESTION_EXAMPLES)
    choices = "\n".join(f"  - {k}: {q}" for k, q in CHOICE_EXAMPLES.items())
    return f"""\
A symbolic model answers only the requests below. Anything else it **refuses with the reason**
(the instance is `refused`, counted in the report and listed with the reason), so a prompt
idea it cannot follow shows up instead of passing silently.

`symbolic/reasoner` (understand), given these requests word for word:

- the RealUnify refine request (`protocol.refine_request`, what `rewrite` sends with
  `rewrite_request_of(instance)`) or composer's own (`REWRITE_PROMPT`, what `rewrite` sends
  without one): a prompt that needs arithmetic, a fact, an ordering puzzle, a paint-mixing rule
  or a short Python program becomes an explicit scene,
  `Draw on a white canvas, scattered: 2 red circles, 4 blue squares.`; a prompt it cannot work
  out is refused;
- the judge request (`verify`, the judges, `protocol.judge_request`) with one yes/no question
  about an image in one of these forms (colours and shapes below; numbers as digits or
  {_quoted(NUMBER_WORDS)}; positions {_quoted(ORDINALS)}), answered `Yes` or `No` from the
  pixels:
{questions}
- the derive-checks request (`derive_checks`) and the revise request (`revise`) for such a
  prompt;
- the RealUnify multiple-choice request (`answer`, `protocol.choice_request`) whose question is
  one of the synthetic suite's four kinds, answered with a letter:
{choices}

`symbolic/painter` (generate and edit):

- generate: an explicit scene as above is drawn exactly; any other prompt is drawn literally,
  from its shape words ({_quoted(SHAPES)}, or `shape`), a colour word right before one
  ({_quoted(COLOURS)}; black otherwise) and a number right before that; a prompt that names
  no shape is refused;
- edit: only RealUnify's edit prompts of the four GEU categories ({edit_categories()};
  `protocol.edit_request`): restore shuffled patches, apply the recolourings, ring the counted
  targets, trace the maze path. Any other instruction ("make the circle red") is refused.

`symbolic/naive-unified` takes the same requests as both, and slips now and then;
`symbolic/glance-judge` takes the judge request only.
"""
