"""Mental tracking: read seven-segment digits of coloured segments and apply recolourings.

Segments are read as separate colour blobs, grouped into digits by their horizontal extent and
named (a-g) from their place in the digit's box. The question's recolourings are applied in
order; the reasoner can hold two of them in mind, the painter applies up to five in one edit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from composer.synthetic.symbolic.geu_pixels import (
    COLOUR_NAMES,
    Blob,
    Pixels,
    blobs,
    colour_map,
    pick,
)
from composer.synthetic.vocab import DIGIT_SEGMENTS, PALETTE

MENTAL_STEPS = 2
"""Recolourings the reasoner can apply in its head."""
EDIT_STEPS = 5
"""Recolourings the painter manages in one edit; longer chains lose their tail."""

_STEP = re.compile(r"recolou?r every (\w+) segments? (?:to |into )?(\w+)", re.I)
_QUERY = re.compile(r"which digits? do the (\w+) segments form", re.I)

Digit = dict[str, str]
"""One digit's segments: segment name (a-g) to colour name."""


def parse_question(question: str) -> tuple[list[tuple[str, str]], str] | None:
    """The recolouring steps and the colour asked about, or None if this is not such a question."""
    query = _QUERY.search(question)
    if query is None:
        return None
    steps = [(a.lower(), b.lower()) for a, b in _STEP.findall(question)]
    known = set(PALETTE)
    if not all(a in known and b in known for a, b in steps) or query.group(1).lower() not in known:
        return None
    return steps, query.group(1).lower()


def _name(blob: Blob, x0: int, y0: int, x1: int, y1: int) -> str:
    fx = (blob.cx - x0) / max(1, x1 - x0)
    fy = (blob.cy - y0) / max(1, y1 - y0)
    if blob.width > blob.height:
        return "a" if fy < 0.25 else "d" if fy > 0.75 else "g"
    if fy < 0.5:
        return "f" if fx < 0.5 else "b"
    return "e" if fx < 0.5 else "c"


def read_digits(pixels: Pixels) -> list[Digit]:
    """Every digit figure, left to right, as a segment-to-colour map (empty if none is seen)."""
    found = [
        b
        for b in blobs(pixels, min_area=20)
        if max(b.width, b.height) >= 3 * min(b.width, b.height)
    ]
    found.sort(key=lambda b: b.x0)
    groups: list[list[Blob]] = []
    for blob in found:
        if groups and blob.x0 <= max(b.x1 for b in groups[-1]) + 2:
            groups[-1].append(blob)
        else:
            groups.append([blob])
    digits: list[Digit] = []
    for group in groups:
        x0, y0 = min(b.x0 for b in group), min(b.y0 for b in group)
        x1, y1 = max(b.x1 for b in group), max(b.y1 for b in group)
        digit = {_name(b, x0, y0, x1, y1): b.colour for b in group}
        if len(group) == 7 and len(digit) == 7:
            digits.append(digit)
    return digits


def decode(digit: Digit, colour: str) -> str:
    """The digit the `colour` segments form, or the nearest one if they form none exactly."""
    lit = frozenset(s for s, c in digit.items() if c == colour)
    return min(DIGIT_SEGMENTS, key=lambda d: (len(DIGIT_SEGMENTS[d] ^ lit), d))


def _apply(digits: list[Digit], steps: Sequence[tuple[str, str]]) -> list[Digit]:
    out = [dict(d) for d in digits]
    for src, dst in steps:
        for digit in out:
            for s, c in digit.items():
                if c == src:
                    digit[s] = dst
    return out


def is_edited(digits: list[Digit], steps: Sequence[tuple[str, str]]) -> bool:
    """Whether the recolourings look applied already: the first one's source colour is gone."""
    return bool(steps) and not any(c == steps[0][0] for d in digits for c in d.values())


def answer(question: str, options: Sequence[str], images: Sequence[Pixels], *, naive: bool) -> int:
    """Which digits the asked colour forms after the recolourings.

    An image in which the recolourings are visibly applied is read as it is. Otherwise the
    reasoner applies the first two steps in its head, and the naive model none.
    """
    parsed = parse_question(question)
    if parsed is None:
        return pick(options, None, question, images[0])
    steps, colour = parsed
    readings = [read_digits(img) for img in images]
    seen = [r for r in readings if r]
    if not seen:
        return pick(options, None, question, images[0])
    edited = [r for r in seen if is_edited(r, steps)]
    digits = edited[-1] if edited else seen[0]
    if not edited and not naive:
        digits = _apply(digits, steps[:MENTAL_STEPS])
    return pick(options, "".join(decode(d, colour) for d in digits), question, images[0])


def edit(question: str, pixels: Pixels, *, naive: bool) -> Pixels:
    """Repaint the segments as the recolourings say; the naive editor applies only the first."""
    parsed = parse_question(question)
    if parsed is None:
        return pixels
    steps = parsed[0][: 1 if naive else EDIT_STEPS]
    index = colour_map(pixels)
    names = list(COLOUR_NAMES)
    for src, dst in steps:
        index[index == names.index(src)] = names.index(dst)
    table = np.array([PALETTE[n] for n in names], dtype=np.uint8)
    out = pixels.copy()
    painted = index >= 0
    out[painted] = table[index[painted]]
    return out
