"""Completing and judging Uni-MMMU-style 2x2 jigsaws from pixels.

The hidden cell is the bottom-right quadrant. A candidate is pasted there (scaled to the
quadrant if its size differs, never rotated or recoloured), and the better completion is the
one whose seams jump least: the mean colour jump across the quadrant's top edge (against the
cell above) and its left edge (against the cell to its left).
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def paste(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """The reference with `candidate` in its bottom-right quadrant."""
    height, width = reference.shape[:2]
    top, left = height // 2, width // 2
    size = (width - left, height - top)
    patch = Image.fromarray(candidate)
    if patch.size != size:
        patch = patch.resize(size, Image.Resampling.BILINEAR)
    out = reference.copy()
    out[top:, left:] = np.asarray(patch.convert("RGB"))
    return out


def seam_jump(completed: np.ndarray) -> float:
    """The mean absolute colour jump across the bottom-right quadrant's two inner edges."""
    image = completed.astype(np.float32)
    height, width = image.shape[:2]
    top, left = height // 2, width // 2
    across_top = np.abs(image[top, left:] - image[top - 1, left:])
    across_left = np.abs(image[top:, left] - image[top:, left - 1])
    return float(np.concatenate([across_top, across_left]).mean())


def choose(reference: np.ndarray, candidates: list[np.ndarray]) -> tuple[int, list[float]]:
    """The index of the candidate whose completion has the smaller seam jump, and the jumps."""
    jumps = [seam_jump(paste(reference, candidate)) for candidate in candidates]
    return int(np.argmin(jumps)), jumps


def choose_by_colour(reference: np.ndarray, candidates: list[np.ndarray]) -> int:
    """The naive choice: the candidate whose mean colour is nearest the visible cells' mean.

    It never looks at the seams; the first candidate wins a tie.
    """
    height, width = reference.shape[:2]
    visible = np.concatenate(
        [
            reference[: height // 2].reshape(-1, 3),
            reference[height // 2 :, : width // 2].reshape(-1, 3),
        ]
    ).astype(np.float32)
    target = visible.mean(axis=0)
    gaps = [
        float(np.abs(c.reshape(-1, 3).astype(np.float32).mean(axis=0) - target).sum())
        for c in candidates
    ]
    return int(np.argmin(gaps))
