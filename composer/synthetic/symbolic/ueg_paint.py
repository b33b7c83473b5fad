"""The symbolic painter: draws scenes of coloured shapes on a small white canvas.

It draws an explicit description (see `vocab.describe`) exactly, and any other prompt the
way a text-to-image model without reasoning would: only the shape and colour words it sees,
with a number taken literally when one is written right before them. Scattered shapes land at
seed-dependent places; on a crowded canvas the painter sometimes gives up looking for free room
and lets shapes touch, so another seed (or a request to keep shapes apart) can fix it. Painting
carelessly (the naive unified model) it also slips on colour under some seeds: one shape comes
out in another colour (`COLOUR_SLIP`), so its accuracy varies with the seed as a sampled
model's does.
"""

from __future__ import annotations

import math
import random
import re

from PIL import Image, ImageDraw

from composer.synthetic.symbolic.vocabulary import NotUnderstood
from composer.synthetic.vocab import (
    COLOURS,
    NUMBER_WORDS,
    SHAPES,
    Group,
    Scene,
    parse_description,
)

CANVAS = 256
"""Width and height of every painted image, in pixels."""

_GAP = 5
_MAX_COUNT = 20
COLOUR_SLIP = 0.15
"""Chance, per image and seed, that a careless painting draws one shape in the wrong colour."""
_BoxT = tuple[float, float, float, float]


def render_scene(scene: Scene, seed: int, *, careful: bool = True) -> Image.Image:
    """Paint `scene`; `careful=False` looks less hard for free room on crowded canvases."""
    image = Image.new("RGB", (CANVAS, CANVAS), "white")
    draw = ImageDraw.Draw(image)
    rng = random.Random(f"painter/{seed}")
    objects = scene.objects()
    if not objects:
        return image
    slip = random.Random(f"slip/{seed}")
    if not careful and slip.random() < COLOUR_SLIP:
        k = slip.randrange(len(objects))
        colour, shape = objects[k]
        objects[k] = (slip.choice([c for c in COLOURS if c != colour]), shape)
    if scene.in_row:
        cell = CANVAS / len(objects)
        size = min(40.0, cell * 0.7)
        y = CANVAS / 2 + rng.uniform(-40, 40)
        for i, (colour, shape) in enumerate(objects):
            x = cell * (i + 0.5) + rng.uniform(-0.08, 0.08) * cell
            _draw_shape(draw, shape, colour, x, y + rng.uniform(-6, 6), size)
        return image
    for (colour, shape), (x, y, size) in zip(
        objects, _place(len(objects), rng, careful=careful, spaced=scene.spaced), strict=True
    ):
        _draw_shape(draw, shape, colour, x, y, size)
    return image


def _place(
    n: int, rng: random.Random, *, careful: bool, spaced: bool
) -> list[tuple[float, float, float]]:
    base = 34.0 if n <= 6 else 30.0 if n <= 12 else 26.0
    if spaced:
        base *= 0.8
    tries = 400 if spaced else (14 if careful else 5)
    placed: list[tuple[float, float, float]] = []
    for _ in range(n):
        size = base * rng.uniform(0.85, 1.15)
        half = size / 2 + 2
        candidate = (0.0, 0.0, size)
        for _ in range(tries):
            candidate = (rng.uniform(half, CANVAS - half), rng.uniform(half, CANVAS - half), size)
            if all(not _near(candidate, other) for other in placed):
                break
        placed.append(candidate)
    return placed


def _near(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    reach = (a[2] + b[2]) / 2 + _GAP
    return abs(a[0] - b[0]) < reach and abs(a[1] - b[1]) < reach


def _draw_shape(
    draw: ImageDraw.ImageDraw, shape: str, colour: str, x: float, y: float, size: float
) -> None:
    fill = COLOURS[colour]
    r = size / 2
    if shape == "circle":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    elif shape == "square":
        s = r * 0.9
        draw.rectangle((x - s, y - s, x + s, y + s), fill=fill)
    elif shape == "triangle":
        draw.polygon([(x, y - r), (x + r, y + r * 0.85), (x - r, y + r * 0.85)], fill=fill)
    else:
        points = []
        for k in range(10):
            radius = r if k % 2 == 0 else r * 0.42
            angle = -math.pi / 2 + k * math.pi / 5
            points.append((x + radius * math.cos(angle), y + r * 0.1 + radius * math.sin(angle)))
        draw.polygon(points, fill=fill)


_WORD = re.compile(r"[a-z]+|\d+")
_SHAPE_WORDS = {s: s for s in SHAPES} | {s + "s": s for s in SHAPES}


def literal_scene(prompt: str, seed: int) -> Scene:
    """What a painter that does not reason takes `prompt` to ask for.

    Each shape word (or 'shape') becomes a group: a colour word right before it sets the
    colour (black otherwise), and a number right before that (digits, a number word, 'a')
    sets the count (1 otherwise). Nothing is computed, looked up or resolved.
    """
    rng = random.Random(f"literal/{seed}")
    words = _WORD.findall(prompt.lower())
    groups: dict[tuple[str, str], int] = {}
    for i, word in enumerate(words):
        shape = _SHAPE_WORDS.get(word)
        if shape is None and word in ("shape", "shapes"):
            shape = rng.choice(SHAPES)
        if shape is None:
            continue
        j = i - 1
        colour = "black"
        if j >= 0 and words[j] in COLOURS:
            colour = words[j]
            j -= 1
        count = 1
        if j >= 0 and (words[j].isdigit() or words[j] in NUMBER_WORDS):
            count = int(words[j]) if words[j].isdigit() else NUMBER_WORDS[words[j]]
        groups.setdefault((colour, shape), max(1, min(count, _MAX_COUNT)))
    in_row = "row" in words or "left to right" in prompt.lower()
    return Scene(tuple(Group(n, c, s) for (c, s), n in groups.items()), in_row=in_row)


def paint(prompt: str, seed: int, *, naive: bool) -> Image.Image:
    """Draw `prompt`: exactly if it is an explicit description, literally otherwise.

    Raises:
        NotUnderstood: the prompt names no shape, so there is nothing it could draw.
    """
    scene = parse_description(prompt)
    if scene is None:
        literal = literal_scene(prompt, seed)
        if not literal.groups:
            raise NotUnderstood(
                f"it draws shapes ({', '.join(SHAPES)}, or 'shape'), and the prompt names "
                f"none: {prompt[:80]!r}."
            )
        return render_scene(literal, seed, careful=not naive)
    return render_scene(scene, seed, careful=not naive)
