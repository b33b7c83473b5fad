"""The synthetic world's shared vocabulary: colours, shapes, scene wording, GEU conventions.

Neutral ground: the suite generators (`composer.synthetic.suite`) word and draw their scenes
with it, and the symbolic models (`composer.synthetic.symbolic`) describe and read scenes with
it, so the solvers never import the generators. It holds only conventions (named colours and
their one RGB each, shape kinds, question wording, the seven-segment table, sizes), the kind of
thing a model learns once, never anything about an instance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RGB = tuple[int, int, int]

COLOUR_RGB: dict[str, RGB] = {
    "red": (220, 30, 30),
    "orange": (245, 120, 0),
    "yellow": (235, 195, 0),
    "green": (30, 160, 50),
    "blue": (30, 70, 220),
    "purple": (140, 50, 180),
    "pink": (245, 120, 190),
    "brown": (120, 70, 20),
    "black": (20, 20, 20),
    "cyan": (0, 180, 200),
}
"""The one palette: every named colour a synthetic scene uses, with the exact RGB drawn."""

COLOURS: dict[str, RGB] = {
    name: COLOUR_RGB[name]
    for name in ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black")
}
"""The UEG scenes' colours, in the order the generator draws them from."""

PALETTE: dict[str, RGB] = {
    name: COLOUR_RGB[name]
    for name in ("red", "green", "blue", "yellow", "purple", "orange", "cyan")
}
"""The GEU scenes' colours (shapes, segments and exits, all strongly saturated), in the order
the generator draws them from."""

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
"""Every shape a scene may use."""

NUMBER_WORDS: dict[str, int] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}

ORDINALS: tuple[str, ...] = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
)

_CANVAS_HEAD = "Draw on a white canvas, "
_SCATTERED = "scattered"
_ROW = "in one row from left to right"
SPACING_NOTE = "Keep the shapes well apart."


@dataclass(frozen=True)
class Group:
    """`count` shapes of one colour and kind."""

    count: int
    colour: str
    shape: str

    def phrase(self) -> str:
        """`'3 red circles'`, `'1 blue square'`."""
        return f"{self.count} {self.colour} {plural(self.shape, self.count)}"


@dataclass(frozen=True)
class Scene:
    """What to draw: groups of shapes, scattered or in one row (left to right, group order)."""

    groups: tuple[Group, ...]
    in_row: bool = False
    spaced: bool = False

    @property
    def total(self) -> int:
        """How many shapes the scene holds."""
        return sum(g.count for g in self.groups)

    def objects(self) -> list[tuple[str, str]]:
        """Every shape as `(colour, shape)`, in group order."""
        return [(g.colour, g.shape) for g in self.groups for _ in range(g.count)]


def plural(shape: str, count: int) -> str:
    """`shape` with an `s` unless `count` is 1."""
    return shape if count == 1 else shape + "s"


def article(word: str) -> str:
    """`a` or `an` before `word`."""
    return "an" if word[:1] in "aeiou" else "a"


def describe(scene: Scene) -> str:
    """The canonical explicit description of `scene`, the painter's input language.

    Example:
        >>> describe(Scene((Group(3, "red", "circle"), Group(1, "blue", "square"))))
        'Draw on a white canvas, scattered: 3 red circles, 1 blue square.'
    """
    layout = _ROW if scene.in_row else _SCATTERED
    items = ", ".join(g.phrase() for g in scene.groups if g.count > 0)
    text = f"{_CANVAS_HEAD}{layout}: {items or 'nothing'}."
    return f"{text} {SPACING_NOTE}" if scene.spaced else text


_COLOUR_RE = "|".join(COLOURS)
_SHAPE_RE = "|".join(SHAPES)
_DESCRIPTION = re.compile(
    rf"^{_CANVAS_HEAD}({_SCATTERED}|{_ROW}): (.*?)\.(?: ({re.escape(SPACING_NOTE)}))?$"
)
_ITEM = re.compile(rf"^(\d+) ({_COLOUR_RE}) ({_SHAPE_RE})s?$")


def parse_description(text: str) -> Scene | None:
    """Read a canonical description back, or None if `text` is not one."""
    match = _DESCRIPTION.match(text.strip())
    if match is None:
        return None
    layout, items, spaced = match.groups()
    groups: list[Group] = []
    if items != "nothing":
        for item in items.split(", "):
            found = _ITEM.match(item.strip())
            if found is None:
                return None
            groups.append(Group(int(found.group(1)), found.group(2), found.group(3)))
    return Scene(tuple(groups), in_row=layout == _ROW, spaced=spaced is not None)


def _noun(colour: str | None, shape: str | None, count: int) -> str:
    words = [w for w in (colour, plural(shape or "shape", count)) if w]
    return " ".join(words)


def q_count(count: int, colour: str | None = None, shape: str | None = None) -> str:
    """`Are there exactly 3 red circles?` (colour and shape optional; count at least 1)."""
    if count == 1:
        return f"Is there exactly one {_noun(colour, shape, 1)}?"
    return f"Are there exactly {count} {_noun(colour, shape, count)}?"


def q_any(colour: str | None = None, shape: str | None = None) -> str:
    """`Is there any green triangle?`."""
    return f"Is there any {_noun(colour, shape, 1)}?"


def q_left_of(a: tuple[str, str], b: tuple[str, str]) -> str:
    """`Is the red circle to the left of the blue square?`."""
    return f"Is the {a[0]} {a[1]} to the left of the {b[0]} {b[1]}?"


def q_position(index: int, obj: tuple[str, str]) -> str:
    """`Is the second shape from the left a blue square?` (index from 0)."""
    return f"Is the {ORDINALS[index]} shape from the left {article(obj[0])} {obj[0]} {obj[1]}?"


def scene_checks(scene: Scene, absent_colour: str | None = None) -> list[tuple[str, str]]:
    """The yes/no checks an image of `scene` must pass, with at least one expected 'no'.

    Rows get position checks; scattered scenes get count checks. `absent_colour` (a colour the
    scene lacks) words the 'no' check; without it an off-by-one count is used.
    """
    checks: list[tuple[str, str]] = []
    if scene.in_row:
        objects = scene.objects()
        for i, obj in enumerate(objects[: len(ORDINALS)]):
            checks.append((q_position(i, obj), "yes"))
        if len(objects) > 1 and objects[0] != objects[-1]:
            checks.append((q_position(0, objects[-1]), "no"))
        checks.append((q_count(len(objects)), "yes"))
    else:
        for g in scene.groups:
            if g.count > 0:
                checks.append((q_count(g.count, g.colour, g.shape), "yes"))
                checks.append((q_count(g.count + 1, g.colour, g.shape), "no"))
    used = {g.colour for g in scene.groups if g.count > 0}
    if absent_colour is not None and absent_colour not in used:
        checks.append((q_any(absent_colour), "no"))
    if not any(a == "no" for _, a in checks):
        checks.append((q_count(scene.total + 1), "no"))
    return checks


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
