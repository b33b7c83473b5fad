"""Pixel reading shared by the GEU solvers: colour naming, connected components, shapes.

Everything is numpy-vectorised: components are found on horizontal runs (one union-find over
runs, no per-pixel Python loop), so a 384 x 384 scene reads in a few milliseconds.
"""

from __future__ import annotations

import collections
import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np
from numpy.typing import NDArray

from composer.synthetic.vocab import PALETTE

Pixels = NDArray[np.uint8]
IntArray = NDArray[np.int64]

P = ParamSpec("P")
R = TypeVar("R")

COLOUR_NAMES: tuple[str, ...] = tuple(PALETTE)
_PALETTE_ARRAY = np.array([PALETTE[name] for name in COLOUR_NAMES], dtype=np.float32)


READINGS = 64
"""How many images each `remembered` reader keeps its reading of."""


def remembered(read: Callable[Concatenate[Pixels, P], R]) -> Callable[Concatenate[Pixels, P], R]:
    """Keep a pure reading of pixels for the last `READINGS` images read, found by content.

    The systems of a run read the same image again (each one that answers about or edits a
    suite image), after its decoded pixels were let go (`symbolic.SEEN_BYTES`); a digest of the
    pixels (blake2b: about a tenth of a maze's or a jigsaw's reading) finds the reading made
    before. The reading must not change with anything but its arguments, and its value must
    not be changed by its callers (it is handed to each).
    """
    kept: collections.OrderedDict[tuple[Any, ...], R] = collections.OrderedDict()

    @functools.wraps(read)
    def reading(pixels: Pixels, /, *args: P.args, **kwargs: P.kwargs) -> R:
        data = np.ascontiguousarray(pixels)
        digest = hashlib.blake2b(data.data.cast("B"), digest_size=16).digest()
        key = (digest, data.shape, data.dtype.str, args, tuple(sorted(kwargs.items())))
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
        value = kept[key] = read(pixels, *args, **kwargs)
        if len(kept) > READINGS:
            kept.popitem(last=False)
        return value

    return reading


@dataclass(frozen=True)
class Blob:
    """One connected region of a single named colour."""

    colour: str
    area: int
    x0: int
    y0: int
    x1: int
    y1: int
    cx: float
    cy: float

    @property
    def width(self) -> int:
        """Bounding-box width in pixels."""
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        """Bounding-box height in pixels."""
        return self.y1 - self.y0

    @property
    def kind(self) -> str:
        """Circle, square or triangle, from how much of its bounding box the blob fills."""
        fill = self.area / max(1, self.width * self.height)
        if fill >= 0.9:
            return "square"
        if fill >= 0.65:
            return "circle"
        return "triangle"


@functools.lru_cache(maxsize=8)
def _colour_table(tolerance: int) -> IntArray:
    """Nearest named colour (or -1) of every colour quantised to 5 bits per channel."""
    levels = np.arange(32, dtype=np.float32) * 8 + 4
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    dist = ((grid[:, None, :] - _PALETTE_ARRAY[None, :, :]) ** 2).sum(axis=2)
    best = dist.argmin(axis=1)
    near = dist[np.arange(len(best)), best] <= tolerance * tolerance
    return np.where(near, best, -1).astype(np.int64)


def colour_map(pixels: Pixels, *, tolerance: int = 70) -> IntArray:
    """Index into `COLOUR_NAMES` of each pixel's nearest named colour, or -1 if none is near."""
    q = pixels >> 3  # 5 bits a channel: the 15-bit index fits 16 bits (a quarter of int64's)
    index = (q[..., 0].astype(np.uint16) << 10) | (q[..., 1].astype(np.uint16) << 5) | q[..., 2]
    return np.asarray(_colour_table(tolerance).take(index))


def marker_mask(pixels: Pixels) -> NDArray[np.bool_]:
    """Pixels in the editor's marker colour (magenta: red and blue high, green low)."""
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return np.asarray((r >= 200) & (g <= 70) & (b >= 200))


def components(values: IntArray) -> list[tuple[int, int, int, int, int, int, float, float]]:
    """4-connected regions of equal non-negative value.

    Returns one tuple per region: (value, area, x0, y0, x1, y1, cx, cy), with exclusive x1/y1.
    """
    height, width = values.shape
    padded = np.full((height, width + 2), -1, dtype=np.int64)
    padded[:, 1:-1] = values
    inner = padded[:, 1:-1]
    starts = (inner >= 0) & (inner != padded[:, :-2])
    ends = (inner >= 0) & (inner != padded[:, 2:])
    rows, first = np.nonzero(starts)
    _, last = np.nonzero(ends)
    n = len(rows)
    if n == 0:
        return []
    stop = last + 1
    run_value = inner[rows, first]
    stride = width + 1
    key_start = rows * stride + first
    key_stop = rows * stride + stop
    lo = np.searchsorted(key_stop, (rows - 1) * stride + first, side="right")
    hi = np.searchsorted(key_start, (rows - 1) * stride + stop, side="left")
    count = np.clip(hi - lo, 0, None)
    total = int(count.sum())
    parent = np.arange(n)
    if total:
        below = np.repeat(np.arange(n), count)
        offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        above = np.repeat(lo, count) + offsets
        same = run_value[above] == run_value[below]
        above, below = above[same], below[same]
        while True:
            pa, pb = parent[above], parent[below]
            if np.array_equal(pa, pb):
                break
            low = np.minimum(pa, pb)
            np.minimum.at(parent, pa, low)
            np.minimum.at(parent, pb, low)
            while True:
                nxt = parent[parent]
                if np.array_equal(nxt, parent):
                    break
                parent = nxt
    roots, label = np.unique(parent, return_inverse=True)
    k = len(roots)
    length = (stop - first).astype(np.float64)
    area = np.bincount(label, weights=length, minlength=k)
    sum_x = np.bincount(label, weights=length * (first + stop - 1) / 2.0, minlength=k)
    sum_y = np.bincount(label, weights=length * rows, minlength=k)
    x0 = np.full(k, width)
    y0 = np.full(k, height)
    x1 = np.zeros(k, dtype=np.int64)
    y1 = np.zeros(k, dtype=np.int64)
    np.minimum.at(x0, label, first)
    np.minimum.at(y0, label, rows)
    np.maximum.at(x1, label, stop)
    np.maximum.at(y1, label, rows + 1)
    value = run_value[roots]
    return [
        (
            int(value[i]),
            int(area[i]),
            int(x0[i]),
            int(y0[i]),
            int(x1[i]),
            int(y1[i]),
            float(sum_x[i] / area[i]),
            float(sum_y[i] / area[i]),
        )
        for i in range(k)
    ]


def blobs(pixels: Pixels, *, min_area: int = 4, tolerance: int = 70) -> list[Blob]:
    """Connected regions of each named colour, largest first."""
    found = [
        Blob(COLOUR_NAMES[v], a, x0, y0, x1, y1, cx, cy)
        for v, a, x0, y0, x1, y1, cx, cy in components(colour_map(pixels, tolerance=tolerance))
        if a >= min_area
    ]
    return sorted(found, key=lambda b: (-b.area, b.cy, b.cx))


def mask_blobs(mask: NDArray[np.bool_], *, min_area: int = 4) -> list[Blob]:
    """Connected regions of a boolean mask (colour reported as "marker")."""
    values = np.where(mask, 0, -1).astype(np.int64)
    return [
        Blob("marker", a, x0, y0, x1, y1, cx, cy)
        for _, a, x0, y0, x1, y1, cx, cy in components(values)
        if a >= min_area
    ]


def downsample(pixels: Pixels, factor: int) -> Pixels:
    """Area-average by an integer factor: what a model that sees coarse patches sees.

    Each block's mean is its sum over its area in float32, rounded: the sums of up to 256 x 256
    pixels are exact in float32, so this is numpy's float32 `mean` of the block, summed by
    `np.add.reduceat` along each axis (a strided mean over two axes is 3 to 5 times slower).
    """
    if factor <= 1:
        return pixels
    h, w = (pixels.shape[0] // factor) * factor, (pixels.shape[1] // factor) * factor
    if factor > 256:  # a sum float32 may round: numpy's own mean, whatever it sums to
        shape = (h // factor, factor, w // factor, factor, 3)
        block = pixels[:h, :w].astype(np.float32).reshape(shape)
        return np.asarray(block.mean(axis=(1, 3)).round().astype(np.uint8))
    inside = pixels[:h, :w].astype(np.uint32)
    columns = np.add.reduceat(inside, np.arange(0, w, factor), axis=1)
    sums = np.add.reduceat(columns, np.arange(0, h, factor), axis=0)
    means = sums.astype(np.float32) / np.float32(factor * factor)
    return np.asarray(means.round().astype(np.uint8))


def guess(question: str, options: Sequence[str], pixels: Pixels) -> int:
    """A guessing model's pick: a hash of the pixels, question and each option's text.

    The pick depends on the option texts, not on their order, so reordering the options
    moves the guess along with its text.
    """
    digest = hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()
    scores = [
        hashlib.sha256(f"{digest}|{question}|{text}".encode()).hexdigest() for text in options
    ]
    return scores.index(min(scores))


def pick(options: Sequence[str], wanted: str | None, question: str, pixels: Pixels) -> int:
    """The index of the option whose text is `wanted` (case-insensitive), else a guess."""
    if wanted is not None:
        norm = wanted.strip().lower()
        for i, text in enumerate(options):
            if text.strip().lower() == norm:
                return i
    return guess(question, options, pixels)
