"""Mental reconstruction: find shuffled patches, solve the jigsaw by edge matching, read layout.

The patch count is read from the pixels: a seam between patches that were not neighbours is a
jump in colour along a whole patch edge, so the grid is the finest one whose seams mostly jump.
The solver then places patches greedily from every possible top-left patch, scoring each
placement by how well touching edges match, and keeps the cheapest arrangement. With many
small patches on a noisy field, edges match by chance and the solver can go wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from composer.synthetic.symbolic.geu_pixels import Pixels, blobs, pick, remembered
from composer.synthetic.vocab import DIRECTIONS, LAYOUT, POSITIONS, shape_name

MAX_PATCHES_PER_SIDE = 5
MENTAL_PATCHES_PER_SIDE = 2
"""The reasoner can re-order a 2 x 2 jigsaw in its head, not a finer one."""

_POSITION = re.compile(r"which shape is in the ([a-z-]+) position", re.I)
_RELATION = re.compile(
    r"which shape is directly (right of|left of|above|below) the (\w+) (\w+)", re.I
)

Floats = NDArray[np.floating[Any]]


def _bounds(size: int, k: int) -> list[int]:
    return [round(i * size / k) for i in range(k + 1)]


def _smooth(edge: Floats) -> Floats:
    """Average each edge profile over blocks of 4 pixels along its length, against noise."""
    n = (edge.shape[-2] // 4) * 4
    shaped = edge[..., :n, :].reshape(*edge.shape[:-2], n // 4, 4, edge.shape[-1])
    return np.asarray(shaped.mean(axis=-2))


def _seam_jumps(img: Floats, k: int) -> list[bool]:
    """For each seam segment of a k x k grid, whether colour jumps across it."""
    out: list[bool] = []
    for arr in (img, img.transpose(1, 0, 2)):
        ys, xs = _bounds(arr.shape[0], k), _bounds(arr.shape[1], k)
        seams = [x for x in xs[1:-1] if 4 <= x <= arr.shape[1] - 4]
        if not seams:
            continue
        at = np.array(seams)
        strips = [_smooth(arr[:, at + d].transpose(1, 0, 2)) for d in (-4, -3, -2, -1, 0, 1)]
        inside = (strips[0] + strips[1]) / 2
        before = (strips[2] + strips[3]) / 2
        after = (strips[4] + strips[5]) / 2
        jump = np.abs(before - after).mean(axis=2)
        base = np.abs(inside - before).mean(axis=2)
        for y0, y1 in zip(ys, ys[1:], strict=False):
            b0, b1 = y0 // 4 + 1, max(y0 // 4 + 2, y1 // 4 - 1)
            j, b = jump[:, b0:b1].mean(axis=1), base[:, b0:b1].mean(axis=1)
            out.extend(bool(v) for v in j > np.maximum(6.0, 2.5 * b))
    return out


@remembered
def patches_per_side(pixels: Pixels) -> int:
    """The finest k x k grid whose seams mostly jump; 1 when the image looks unshuffled."""
    img = pixels.astype(np.float32)
    best = 1
    for k in range(2, MAX_PATCHES_PER_SIDE + 1):
        jumps = _seam_jumps(img, k)
        if jumps and sum(jumps) / len(jumps) >= 0.5:
            best = k
    return best


def _cut(img: Floats, k: int) -> list[Floats]:
    ys, xs = _bounds(img.shape[0], k), _bounds(img.shape[1], k)
    return [img[ys[r] : ys[r + 1], xs[c] : xs[c + 1]] for r in range(k) for c in range(k)]


def _edge_costs(patches: list[Floats]) -> tuple[Floats, Floats]:
    """Mismatch of i's right edge with j's left edge, and of i's bottom with j's top."""
    h = min(p.shape[0] for p in patches)
    w = min(p.shape[1] for p in patches)
    right = np.stack([_smooth(p[:h, -2:].mean(axis=1)) for p in patches])
    left = np.stack([_smooth(p[:h, :2].mean(axis=1)) for p in patches])
    bottom = np.stack([_smooth(p[-2:, :w].mean(axis=0)) for p in patches])
    top = np.stack([_smooth(p[:2, :w].mean(axis=0)) for p in patches])
    lr = np.abs(right[:, None] - left[None, :]).mean(axis=(2, 3))
    tb = np.abs(bottom[:, None] - top[None, :]).mean(axis=(2, 3))
    np.fill_diagonal(lr, np.inf)
    np.fill_diagonal(tb, np.inf)
    return lr, tb


def _greedy(seed: int, k: int, lr: Floats, tb: Floats) -> tuple[float, list[int]]:
    n = k * k
    order = [seed]
    used = np.zeros(n, dtype=bool)
    used[seed] = True
    total = 0.0
    for pos in range(1, n):
        r, c = divmod(pos, k)
        cost = np.zeros(n)
        if c > 0:
            cost += lr[order[pos - 1]]
        if r > 0:
            cost += tb[order[pos - k]]
        cost[used] = np.inf
        j = int(cost.argmin())
        total += float(cost[j])
        order.append(j)
        used[j] = True
    return total, order


def restore(pixels: Pixels, *, naive: bool = False, seed: int = 0) -> Pixels:
    """Put shuffled patches back in place; returns the input when it looks unshuffled.

    The naive editor anchors one patch, picked by the seed, in the top-left corner and fills
    in greedily, which restores only by luck (another seed, other luck).
    """
    k = patches_per_side(pixels)
    if k < 2:
        return pixels
    return _solve(pixels, k, naive=naive, seed=seed)


def _solve(pixels: Pixels, k: int, *, naive: bool = False, seed: int = 0) -> Pixels:
    img = pixels.astype(np.float64)
    patches = _cut(img, k)
    lr, tb = _edge_costs(patches)
    seeds = [seed % (k * k)] if naive else range(k * k)
    _, order = min((_greedy(s, k, lr, tb) for s in seeds), key=lambda t: t[0])
    raw = _cut(pixels.astype(np.float64), k)
    ys, xs = _bounds(pixels.shape[0], k), _bounds(pixels.shape[1], k)
    out = pixels.copy()
    for pos, src in enumerate(order):
        r, c = divmod(pos, k)
        piece = raw[src][: ys[r + 1] - ys[r], : xs[c + 1] - xs[c]]
        out[ys[r] : ys[r] + piece.shape[0], xs[c] : xs[c] + piece.shape[1]] = piece.astype(np.uint8)
    return out


def read_layout(pixels: Pixels) -> list[str | None]:
    """The shape seen in each cell of the 3 x 3 layout, row by row (None where empty)."""
    h, w = pixels.shape[:2]
    cells: list[tuple[int, str] | None] = [None] * (LAYOUT * LAYOUT)
    for blob in blobs(pixels, min_area=max(60, h * w // 800)):
        r = min(LAYOUT - 1, int(blob.cy * LAYOUT / h))
        c = min(LAYOUT - 1, int(blob.cx * LAYOUT / w))
        held = cells[r * LAYOUT + c]
        if held is None or held[0] < blob.area:
            cells[r * LAYOUT + c] = (blob.area, shape_name(blob.colour, blob.kind))
    return [None if cell is None else cell[1] for cell in cells]


def _wanted(question: str, layout: list[str | None]) -> str | None:
    match = _POSITION.search(question)
    if match and match.group(1).lower() in POSITIONS:
        return layout[POSITIONS.index(match.group(1).lower())]
    match = _RELATION.search(question)
    if match:
        ref = shape_name(match.group(2).lower(), match.group(3).lower())
        if ref not in layout:
            return None
        cell = layout.index(ref)
        dr, dc = DIRECTIONS[match.group(1).lower()]
        r, c = cell // LAYOUT + dr, cell % LAYOUT + dc
        if 0 <= r < LAYOUT and 0 <= c < LAYOUT:
            return layout[r * LAYOUT + c]
    return None


def answer(question: str, options: Sequence[str], images: Sequence[Pixels], *, naive: bool) -> int:
    """Answer a layout question about the original (unshuffled) image.

    Of several images, the most coherent (fewest shuffled patches) is read. The reasoner
    re-orders a 2 x 2 jigsaw mentally; a finer one, and anything for the naive model, is
    read as it stands.
    """
    grids = [patches_per_side(img) for img in images]
    best = min(range(len(images)), key=lambda i: (grids[i], -i))
    pixels, k = images[best], grids[best]
    if not naive and 2 <= k <= MENTAL_PATCHES_PER_SIDE:
        pixels = _solve(pixels, k)
    return pick(options, _wanted(question, read_layout(pixels)), question, images[0])
