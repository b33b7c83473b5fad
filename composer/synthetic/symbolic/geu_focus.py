"""Attentional focusing: count small targets in clutter, or count the editor's marks.

The reasoner looks at the raw image at half resolution, as a model that reads coarse patches
does: a small target blurs into its surroundings, and its kind (circle, square, triangle) is
easily misread. The painter finds targets at full resolution, rings each one in the marker
colour and dims the rest, so the count becomes a count of rings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from composer.synthetic.symbolic.geu_pixels import (
    Blob,
    Pixels,
    blobs,
    downsample,
    marker_mask,
    mask_blobs,
    pick,
    remembered,
)
from composer.synthetic.vocab import MARKER, PALETTE, SHAPE_KINDS, SMALL_MAX

COARSE = 2
"""The reasoner's view of a raw image is downsampled by this factor."""

_COUNT = re.compile(r"how many (small|large) (\w+) (circle|square|triangle)s?\b", re.I)


def parse_question(question: str) -> tuple[str, str, str] | None:
    """(size, colour, kind) of the targets a counting question asks about."""
    match = _COUNT.search(question)
    if match is None or match.group(2).lower() not in PALETTE:
        return None
    size, colour, kind = (g.lower() for g in match.groups())
    return (size, colour, kind) if kind in SHAPE_KINDS else None


def targets(
    pixels: Pixels, size: str, colour: str, kind: str | None, *, factor: int = 1
) -> list[Blob]:
    """Blobs matching the description, seen at 1/`factor` resolution (kind None: any kind)."""
    return list(_targets(pixels, size, colour, kind, factor))


@remembered
def _targets(
    pixels: Pixels, size: str, colour: str, kind: str | None, factor: int
) -> tuple[Blob, ...]:
    view = downsample(pixels, factor)
    limit = SMALL_MAX / factor
    found = [
        b
        for b in blobs(view, min_area=max(2, 10 // (factor * factor)))
        if b.colour == colour and (kind is None or b.kind == kind)
    ]
    if size == "small":
        found = [b for b in found if max(b.width, b.height) <= limit]
    else:
        found = [b for b in found if max(b.width, b.height) > limit]
    return tuple(found)


def marks(pixels: Pixels) -> int:
    """How many separate marker rings an edited image shows."""
    return len(mask_blobs(marker_mask(pixels), min_area=12))


def answer(question: str, options: Sequence[str], images: Sequence[Pixels], *, naive: bool) -> int:
    """Count what the question asks for.

    An image with marker rings is answered by counting rings. On the raw image the reasoner
    counts at coarse resolution; the naive model counts every shape of the named colour.
    """
    parsed = parse_question(question)
    if parsed is None:
        return pick(options, None, question, images[0])
    size, colour, kind = parsed
    marked = [img for img in images if marker_mask(img).sum() >= 30]
    if marked:
        count = marks(marked[-1])
    elif naive:
        count = len(
            [b for b in blobs(downsample(images[0], COARSE), min_area=2) if b.colour == colour]
        )
    else:
        count = len(targets(images[0], size, colour, kind, factor=COARSE))
    return pick(options, str(count), question, images[0])


def edit(question: str, pixels: Pixels, *, naive: bool) -> Pixels:
    """Ring each target in the marker colour and dim everything else.

    The naive editor rings every shape of the named colour, whatever its size and kind.
    """
    parsed = parse_question(question)
    if parsed is None:
        return pixels
    size, colour, kind = parsed
    if naive:
        found = [b for b in blobs(pixels, min_area=4) if b.colour == colour]
    else:
        found = targets(pixels, size, colour, kind)
    out = (pixels.astype(np.float32) * 0.3 + 255 * 0.7).astype(np.uint8)
    h, w = pixels.shape[:2]
    pad = 3
    boxes = []
    for b in found:
        x0, y0 = max(0, b.x0 - pad), max(0, b.y0 - pad)
        x1, y1 = min(w, b.x1 + pad), min(h, b.y1 + pad)
        out[y0:y1, x0:x1] = pixels[y0:y1, x0:x1]
        boxes.append((x0, y0, x1, y1))
    for x0, y0, x1, y1 in boxes:
        for ys, xs in (
            (slice(y0, y0 + 2), slice(x0, x1)),
            (slice(y1 - 2, y1), slice(x0, x1)),
            (slice(y0, y1), slice(x0, x0 + 2)),
            (slice(y0, y1), slice(x1 - 2, x1)),
        ):
            out[ys, xs] = MARKER
    return out
