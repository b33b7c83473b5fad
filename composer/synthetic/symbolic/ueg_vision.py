"""Pixel reading for UEG checks: find the shapes in an image and answer yes/no questions.

Pixels are classified to the nearest palette colour, same-colour pixels are grouped into
4-connected components (a run-length labelling in numpy and a small union-find), and each
component is classified as a shape by how much of its bounding box it fills. Questions are
read with the wording of `vocab` (counts, presence, 'all', order, positions, more-than).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from composer.synthetic.vocab import COLOURS, NUMBER_WORDS, ORDINALS, SHAPES

_PALETTE = np.array(list(COLOURS.values()), dtype=np.int32)
_NAMES = list(COLOURS)
_MIN_AREA = 40


@dataclass(frozen=True)
class Blob:
    """One connected same-colour region: its colour, shape class, centre and area."""

    colour: str
    shape: str
    x: float
    y: float
    area: int


def find_blobs(pixels: np.ndarray) -> list[Blob]:
    """Every shape in an RGB image (H x W x 3 uint8), ignoring specks under 40 pixels."""
    img = np.asarray(pixels)[..., :3]
    h, w, _ = img.shape
    # A pixel within 60 of white in every channel is background, whatever its colour; each
    # distinct colour of the rest is classified once (a painting holds few, a photo many more).
    # (Channel by channel: numpy's min over a last axis of 3 is ten times slower.)
    ink = np.minimum(np.minimum(img[..., 0], img[..., 1]), img[..., 2]) < 195
    flat = img[ink].astype(np.int32)
    packed = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    colours, inverse = np.unique(packed, return_inverse=True)
    rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1)
    dist = ((rgb[:, None, :] - _PALETTE[None, :, :]) ** 2).sum(axis=2)
    grid = np.full((h, w + 2), -1, dtype=np.int32)
    grid[:, 1:-1][ink] = dist.argmin(axis=1)[inverse.reshape(-1)]
    rows, cols = np.nonzero(grid[:, 1:] != grid[:, :-1])
    same_row = rows[1:] == rows[:-1]
    starts_r = rows[:-1][same_row]
    starts_c = cols[:-1][same_row]
    ends_c = cols[1:][same_row]
    run_class = grid[starts_r, starts_c + 1]
    keep = run_class >= 0
    run_r, run_s, run_e, run_k = starts_r[keep], starts_c[keep], ends_c[keep], run_class[keep]
    return _blobs_from_runs(run_r, run_s, run_e, run_k)


def _blobs_from_runs(
    run_r: np.ndarray, run_s: np.ndarray, run_e: np.ndarray, run_k: np.ndarray
) -> list[Blob]:
    n = len(run_r)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    r_list, s_list, e_list, k_list = (a.tolist() for a in (run_r, run_s, run_e, run_k))
    row_start: dict[int, int] = {}
    for i, r in enumerate(r_list):
        row_start.setdefault(r, i)
    for i in range(n):
        nxt = row_start.get(r_list[i] + 1)
        if nxt is None:
            continue
        j = nxt
        while j < n and r_list[j] == r_list[i] + 1 and s_list[j] < e_list[i]:
            if e_list[j] > s_list[i] and k_list[j] == k_list[i]:
                a, b = find(i), find(j)
                if a != b:
                    parent[b] = a
            j += 1
    if n == 0:
        return []
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    _, label = np.unique(roots, return_inverse=True)
    lengths = (run_e - run_s).astype(np.float64)
    area = np.bincount(label, weights=lengths)
    k = len(area)
    top = np.full(k, np.iinfo(np.int64).max)
    bottom = np.full(k, -1)
    left = np.full(k, np.iinfo(np.int64).max)
    right = np.full(k, -1)
    np.minimum.at(top, label, run_r)
    np.maximum.at(bottom, label, run_r)
    np.minimum.at(left, label, run_s)
    np.maximum.at(right, label, run_e)
    xs = np.bincount(label, weights=(run_s + run_e - 1) / 2.0 * lengths) / area
    ys = np.bincount(label, weights=run_r * lengths) / area
    height = bottom - top + 1
    width = right - left
    band_rows = np.maximum(1, height // 5)
    in_band = run_r > (bottom - band_rows)[label]
    base_fill = np.bincount(label, weights=lengths * in_band, minlength=k) / (band_rows * width)
    fill = area / (height * width)
    colour = np.zeros(k, dtype=np.int64)
    colour[label] = run_k
    blobs = [
        Blob(
            _NAMES[int(colour[i])],
            _classify(float(fill[i]), float(base_fill[i]), float(width[i] / height[i])),
            float(xs[i]),
            float(ys[i]),
            int(area[i]),
        )
        for i in range(k)
        if area[i] >= _MIN_AREA
    ]
    return sorted(blobs, key=lambda b: b.x)


def _classify(fill: float, base_fill: float, aspect: float) -> str:
    # A triangle stands on a full base; a star stands on two thin points.
    if aspect > 1.6 or aspect < 0.6:
        return "blob"
    if fill > 0.9:
        return "square"
    if fill > 0.68:
        return "circle"
    if fill > 0.3 and base_fill > 0.65:
        return "triangle"
    return "star"


_C = "|".join(COLOURS)
_S = "|".join(SHAPES)
_N = r"\d+|" + "|".join(NUMBER_WORDS)
_O = "|".join(ORDINALS)
_NOUN = rf"(?:an? )?(?:({_C}) )?({_S}|shape)s?"
_QUESTIONS: dict[str, re.Pattern[str]] = {
    "count": re.compile(rf"^(?:are|is) there exactly ({_N}) {_NOUN}(?: in the image)?\?$"),
    "any": re.compile(rf"^(?:is|are) there (?:any|a|an) {_NOUN}(?: in the image)?\?$"),
    "all": re.compile(rf"^are all (?:the )?({_S}|shape)s ({_C})\?$"),
    "left": re.compile(rf"^is the ({_C}) ({_S}) to the (left|right) of the ({_C}) ({_S})\?$"),
    "pos": re.compile(rf"^is the ({_O}) shape from the (left|right) {_NOUN}\?$"),
    "end": re.compile(rf"^is the (leftmost|rightmost) shape {_NOUN}\?$"),
    "more": re.compile(rf"^are there more {_NOUN} than {_NOUN}\?$"),
}


def _matches(blob: Blob, colour: str | None, shape: str | None) -> bool:
    return (colour is None or blob.colour == colour) and (
        shape in (None, "shape") or blob.shape == shape
    )


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def read_question(question: str, blobs: list[Blob]) -> bool | None:
    """The truth of `question` about `blobs`, or None if the question is not understood."""
    q = " ".join(question.strip().lower().split())
    blobs = [b for b in blobs if b.shape != "blob"] + [b for b in blobs if b.shape == "blob"]
    shapes = sorted(blobs, key=lambda b: b.x)
    for kind, pattern in _QUESTIONS.items():
        m = pattern.match(q)
        if m is None:
            continue
        g = m.groups()
        if kind == "count":
            return sum(_matches(b, g[1], g[2]) for b in blobs) == _number(g[0])
        if kind == "any":
            return any(_matches(b, g[0], g[1]) for b in blobs)
        if kind == "all":
            chosen = [b for b in blobs if _matches(b, None, g[0])]
            return bool(chosen) and all(b.colour == g[1] for b in chosen)
        if kind == "left":
            first = [b.x for b in blobs if _matches(b, g[0], g[1])]
            second = [b.x for b in blobs if _matches(b, g[3], g[4])]
            if not first or not second:
                return False
            a, b = sum(first) / len(first), sum(second) / len(second)
            return a < b if g[2] == "left" else a > b
        if kind in ("pos", "end"):
            if kind == "pos":
                index = ORDINALS.index(g[0])
                ordered = shapes if g[1] == "left" else shapes[::-1]
                colour, shape = g[2], g[3]
            else:
                index = 0
                ordered = shapes if g[0] == "leftmost" else shapes[::-1]
                colour, shape = g[1], g[2]
            return index < len(ordered) and _matches(ordered[index], colour, shape)
        a = sum(_matches(b, g[0], g[1]) for b in blobs)
        return a > sum(_matches(b, g[2], g[3]) for b in blobs)
    return None


def answer_question(question: str, pixels: np.ndarray) -> str | None:
    """Answer a yes/no question about an image: 'Yes', 'No', or None if it is not understood."""
    truth = read_question(question, find_blobs(pixels))
    if truth is None:
        return None
    return "Yes" if truth else "No"
