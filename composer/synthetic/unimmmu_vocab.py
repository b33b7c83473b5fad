"""The Uni-MMMU boards' shared vocabulary: palettes, board sizes, move names and the prompts.

Neutral ground for the synthetic Uni-MMMU-style suite (`composer.synthetic.suite.unimmmu`)
and the symbolic models that solve it (`composer.synthetic.symbolic.unimmmu`), so the solvers
never import the generator. It holds conventions only: the palettes the release's scorer
(`eval_ummmu.py`) parses frames with (taken from the benchmark's `grids`, where composer's
scorer reads them), how a move is named and answered. The release's prompts
and call suffixes, word for word, are the benchmark's (`composer.benchmarks.unimmmu.prompts`),
which both sides import.

A request to a model is the release's context flattened: its text parts in order, joined by
newlines, with the call's suffix last (`context_text`); its images in order beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

from composer.benchmarks.unimmmu.grids import MAZE_PALETTE, SET1_9

RGB = tuple[int, int, int]


def hex_rgb(code: str) -> RGB:
    """`"#1f2937"` -> `(31, 41, 55)`."""
    code = code.lstrip("#")
    return (int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16))


MAZE_SIZE = 6
"""Mazes are 6x6 cells (the scorer parses `grid_h = grid_w = 6`)."""

MAZE_COLOURS: dict[str, RGB] = {
    label: hex_rgb(MAZE_PALETTE[label]) for label in ("floor", "wall", "start", "goal")
}
"""The scorer's maze palette: a cell is labelled by the nearest of these four colours."""

SLIDING_SIZE = 3
"""Sliding puzzles are 3x3."""

SET1: tuple[RGB, ...] = tuple(hex_rgb(code) for code in SET1_9)
"""The scorer's sliding palette (ColorBrewer Set1); a tile's label is its index + 1."""

EMPTY_TILE = 0
"""The index in `SET1` of the empty space: red."""

MOVES: dict[str, tuple[int, int]] = {
    "up": (-1, 0),
    "down": (1, 0),
    "left": (0, -1),
    "right": (0, 1),
}
"""(row, column) steps. A maze move moves the agent; a sliding move moves the TILE, so the
empty space steps the opposite way."""

STEP_SENTENCE = "Next, move one step {move}."
"""The sentence the release asks for at each step (`STEP_SENTENCE.format(move="up")`)."""

ANSWER_TAG = "<ANSWER_JSON>{moves}</ANSWER_JSON>"
"""The final move list's wrapper; `moves` is a JSON array of lower-case strings."""

FINAL_ANSWER_TAG = "<FINAL_ANSWER_JSON>{body}</FINAL_ANSWER_JSON>"
"""The jigsaw decision's wrapper; `body` is `{"choice": 0 or 1, "rationale": "..."}`."""

MAZE_DEMO_IMAGES = (
    "DEMONSTRATION: Example problem image above.",
    "DEMONSTRATION: example step image #",
)
"""The maze demonstration's labels, one after each of its images (`maze.py`)."""
SLIDING_DEMO_STEPS = (
    "DEMONSTRATION: The sequence of moves to solve the puzzle (one image per move)."
)
"""The sliding demonstration's label before its intermediate states: one image per move but
the last, whose state is the final state shown before."""
SLIDING_DEMO_INITIAL = "DEMONSTRATION: The initial state."
"""The sliding demonstration's label before its initial state (`sliding.py`)."""
SLIDING_DEMO_FINAL = "DEMONSTRATION: The final state to reach."
"""The sliding demonstration's label before its final state, which every puzzle shares."""


def context_text(texts: Sequence[str], suffix: str) -> str:
    """Flatten a release context's text parts and a call's suffix into one request text.

    Example:
        >>> context_text(["CANDIDATE_0:"], "No text.").splitlines()
        ['CANDIDATE_0:', 'No text.']
    """
    return "\n".join([*texts, suffix])
