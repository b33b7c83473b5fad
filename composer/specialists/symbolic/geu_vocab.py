"""The small visual vocabulary the GEU scenes are drawn in and the symbolic models read.

It holds only conventions (named colours, shape kinds, the seven-segment table, sizes), the
kind of thing a model learns once, never anything about an instance. The synthetic GEU
generator imports it, so the solvers never import the generator.
"""

from __future__ import annotations

RGB = tuple[int, int, int]

PALETTE: dict[str, RGB] = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 70, 220),
    "yellow": (235, 195, 0),
    "purple": (140, 50, 180),
    "orange": (245, 120, 0),
    "cyan": (0, 180, 200),
}
"""Named colours of shapes, segments and exits, all strongly saturated."""

MARKER: RGB = (255, 0, 255)
"""The editor's highlight and trace colour (magenta, never used by a scene)."""

WALL: RGB = (40, 40, 40)
"""Maze walls."""

PAPER: RGB = (245, 245, 245)
"""Plain light background of the tracking, focusing and navigation scenes."""

SHAPE_KINDS: tuple[str, ...] = ("circle", "square", "triangle")
"""Shape kinds; a kind is read from how much of its bounding box a shape fills."""

SEGMENTS = "abcdefg"
"""Seven-segment names: a top, b upper right, c lower right, d bottom, e lower left,
f upper left, g middle."""

DIGIT_SEGMENTS: dict[str, frozenset[str]] = {
    "0": frozenset("abcdef"),
    "1": frozenset("bc"),
    "2": frozenset("abdeg"),
    "3": frozenset("abcdg"),
    "4": frozenset("bcfg"),
    "5": frozenset("acdfg"),
    "6": frozenset("acdefg"),
    "7": frozenset("abc"),
    "8": frozenset("abcdefg"),
    "9": frozenset("abcdfg"),
}
"""Which segments each digit lights."""

SMALL_MAX = 22
"""Focusing scenes: a small shape's bounding box side is at most this many pixels."""

LARGE_MIN = 30
"""Focusing scenes: a large shape's bounding box side is at least this many pixels."""

LAYOUT = 3
"""Reconstruction scenes place one shape in each cell of a LAYOUT x LAYOUT grid."""

POSITIONS: tuple[str, ...] = (
    "top-left",
    "top-centre",
    "top-right",
    "middle-left",
    "centre",
    "middle-right",
    "bottom-left",
    "bottom-centre",
    "bottom-right",
)
"""Names of the layout cells, row by row."""

DIRECTIONS: dict[str, tuple[int, int]] = {
    "right of": (0, 1),
    "left of": (0, -1),
    "above": (-1, 0),
    "below": (1, 0),
}
"""Relations between layout cells, as (row, column) steps."""

EXIT_COLOURS: tuple[str, ...] = ("red", "blue", "yellow", "purple")
"""Maze exits are cells filled with these colours; the start is a green disc."""

START_COLOUR = "green"
"""Colour of the maze start marker."""


def shape_name(colour: str, kind: str) -> str:
    """The option text for a shape, e.g. `shape_name("red", "circle") == "red circle"`."""
    return f"{colour} {kind}"
