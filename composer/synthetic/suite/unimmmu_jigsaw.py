"""Uni-MMMU-style jigsaws: a 2x2 picture with its bottom-right cell hidden, and two candidates.

The picture is procedural: a colour gradient under a soft wave texture, crossed by thick
strokes and discs that run across the cells' borders, so the true bottom-right patch continues
its neighbours at the seams. The wrong candidate is the same patch turned half a turn: the same
colours and texture, so only the seams tell them apart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from composer.synthetic.unimmmu_vocab import RGB

JIGSAW_CELL = 64
HIDDEN_FILL: RGB = (200, 200, 200)
"""The hidden cell's flat grey."""
MIN_DIFFERENCE = 25.0
"""The wrong candidate differs from the true one by at least this mean absolute value (0-255)."""


@dataclass(frozen=True)
class Jigsaw:
    """One jigsaw: the full picture, the candidates in the order shown, and the label."""

    picture: Image.Image
    candidates: tuple[Image.Image, Image.Image]
    label: int

    def reference(self) -> Image.Image:
        """The picture with its bottom-right cell hidden."""
        return _with_corner(self.picture, None)

    def completed(self, candidate: int) -> Image.Image:
        """The reference with candidate `candidate` pasted into the hidden cell."""
        return _with_corner(self.picture, self.candidates[candidate])


def _with_corner(picture: Image.Image, patch: Image.Image | None) -> Image.Image:
    image = picture.copy()
    box = (JIGSAW_CELL, JIGSAW_CELL, 2 * JIGSAW_CELL, 2 * JIGSAW_CELL)
    if patch is None:
        image.paste(HIDDEN_FILL, box)
    else:
        image.paste(patch, box[:2])
    return image


def _colour(rng: random.Random) -> np.ndarray:
    return np.array([rng.randint(20, 235) for _ in range(3)], dtype=np.float32)


def _background(rng: random.Random, side: int) -> np.ndarray:
    """A two-colour gradient along a random direction, under a soft wave texture."""
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32) / side
    angle = rng.uniform(0, 2 * np.pi)
    t = np.clip(0.5 + (np.cos(angle) * (xs - 0.5) + np.sin(angle) * (ys - 0.5)), 0, 1)
    image = (1 - t)[..., None] * _colour(rng) + t[..., None] * _colour(rng)
    fx, fy, phase = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 2 * np.pi)
    wave = 25 * np.sin(2 * np.pi * (fx * xs + fy * ys) + phase)
    clipped: np.ndarray = np.clip(image + wave[..., None], 0, 255)
    return clipped


def make_picture(rng: random.Random) -> Image.Image:
    """A 2x2-cell picture with strokes and discs across the cells' borders."""
    side = 2 * JIGSAW_CELL
    image = Image.fromarray(_background(rng, side).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 5)):
        ends = [rng.uniform(0, side) for _ in range(4)]
        colour = tuple(int(v) for v in _colour(rng))
        draw.line(ends, fill=colour, width=rng.randint(3, 7))
    for _ in range(rng.randint(2, 3)):
        cx, cy = rng.uniform(0.3, 0.7) * side, rng.uniform(0.3, 0.7) * side
        radius = rng.uniform(0.12, 0.3) * side
        colour = tuple(int(v) for v in _colour(rng))
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=colour, width=4)
    return image


def make_jigsaw(rng: random.Random) -> Jigsaw:
    """A jigsaw whose label (the true candidate's index) is drawn at random."""
    while True:
        picture = make_picture(rng)
        corner = picture.crop((JIGSAW_CELL, JIGSAW_CELL, 2 * JIGSAW_CELL, 2 * JIGSAW_CELL))
        wrong = corner.rotate(180)
        gap = np.abs(np.asarray(corner, np.float32) - np.asarray(wrong, np.float32)).mean()
        if gap >= MIN_DIFFERENCE:
            break
    label = rng.randint(0, 1)
    candidates = (corner, wrong) if label == 0 else (wrong, corner)
    return Jigsaw(picture, candidates, label)
