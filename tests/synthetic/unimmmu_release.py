"""The release's frame parsers (`eval_ummmu.py`, `parse_maze_image` and
`parse_sliding_puzzle_image`), re-implemented step for step for the tests.

Same palettes, the same board detection (rows and columns whose share of content pixels
exceeds a threshold, widened by 2 px, made square), the same per-cell nearest-palette
fractions, thresholds and fallbacks, with the scorer's configured parameters (maze tolerance
0.75, sliding tolerance 0.80). Written from the release's code, not copied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

MAZE = {
    "floor": "#f4efe6",
    "wall": "#1f2937",
    "start": "#2563eb",
    "goal": "#22c55e",
    "white": "#ffffff",
    "path": "#ef4444",
}
SET1 = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffff33", "#a65628", "#f781bf"]
SET1.append("#999999")


def _rgb01(code: str) -> np.ndarray:
    code = code.lstrip("#")
    return np.array([int(code[i : i + 2], 16) for i in (0, 2, 4)], np.float32) / 255.0


def _load(path: Path | str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.float32) / 255.0


def _nearest(rgb: np.ndarray, colours: list[np.ndarray]) -> np.ndarray:
    return np.stack([np.linalg.norm(rgb - c, axis=-1) for c in colours], axis=-1)


def _square_board(content: np.ndarray, thresh: float, margin: int) -> tuple[int, int, int, int]:
    h, w = content.shape
    rows = np.nonzero(content.mean(axis=1) > thresh)[0]
    cols = np.nonzero(content.mean(axis=0) > thresh)[0]
    top, bottom = (int(rows[0]), int(rows[-1])) if rows.size else (0, h - 1)
    left, right = (int(cols[0]), int(cols[-1])) if cols.size else (0, w - 1)
    top, left = max(0, top - margin), max(0, left - margin)
    bottom, right = min(h - 1, bottom + margin), min(w - 1, right + margin)
    side = max(bottom - top + 1, right - left + 1)
    half = side // 2
    t = max(0, (top + bottom) // 2 - half)
    b = min(w, t + side)  # the maze parser bounds rows by the width (square frames only)
    t = b - side
    left_edge = max(0, (left + right) // 2 - half)
    r = min(h, left_edge + side)
    return t, r - side, b, r


def _cells(board: np.ndarray, n: int) -> list[list[np.ndarray]]:
    ch, cw = board.shape[0] / n, board.shape[1] / n
    return [
        [
            board[
                int(round(r * ch)) : int(round((r + 1) * ch)),
                int(round(c * cw)) : int(round((c + 1) * cw)),
            ]
            for c in range(n)
        ]
        for r in range(n)
    ]


def parse_maze(path: Path | str, tolerance: float = 0.75) -> dict[str, object]:
    """The scorer's maze reading: `grid` of '#', ' ', '?', 'S', 'G', 'SG', `start`, `goal`."""
    rgb = _load(path)
    pal = {k: _rgb01(v) for k, v in MAZE.items()}
    content = _nearest(rgb, [pal[k] for k in ("wall", "start", "goal", "path")]).min(-1)
    whiteish = _nearest(rgb, [pal["white"], pal["floor"]]).min(-1)
    t, left, b, r = _square_board(content + 0.01 < whiteish, 0.003, 2)
    board = rgb[t:b, left:r]
    labels = [pal[k] for k in ("floor", "wall", "start", "goal")]
    fracs = np.zeros((6, 6, 4), np.float32)
    grid: list[list[str]] = []
    start = goal = None
    for gr, row in enumerate(_cells(board, 6)):
        syms = []
        for gc, tile in enumerate(row):
            idx = _nearest(tile, labels).argmin(-1)
            f = np.array([(idx == k).mean() for k in range(4)], np.float32)
            fracs[gr, gc] = f
            if f[2] >= tolerance * 0.25 and f[3] >= tolerance * 0.75:
                start = goal = (gr, gc)
                syms.append("SG")
            elif f[2] >= tolerance * 0.25:
                start = (gr, gc)
                syms.append("S")
            elif f[3] >= tolerance * 0.75:
                goal = (gr, gc)
                syms.append("G")
            else:
                syms.append("#" if f[1] >= tolerance else " " if f[0] >= tolerance else "?")
        grid.append(syms)
    if start is None:
        best = np.unravel_index(np.argmax(fracs[:, :, 2]), (6, 6))
        if fracs[best[0], best[1], 2] >= 0.08:
            start = (int(best[0]), int(best[1]))
            grid[start[0]][start[1]] = "S"
    if goal is None:
        best = np.unravel_index(np.argmax(fracs[:, :, 3]), (6, 6))
        if fracs[best[0], best[1], 3] >= 0.25:
            goal = (int(best[0]), int(best[1]))
            grid[goal[0]][goal[1]] = "SG" if grid[goal[0]][goal[1]] == "S" else "G"
    if start is not None and start == goal:
        grid[start[0]][start[1]] = "SG"
    return {"grid": grid, "start": start, "goal": goal}


def parse_sliding(path: Path | str, tolerance: float = 0.80) -> str:
    """The scorer's sliding reading: a 3x3 ASCII grid of labels 1-9 (or '?')."""
    rgb = _load(path)
    palette = [_rgb01(c) for c in SET1]
    content = _nearest(rgb, palette).min(-1)
    white = np.linalg.norm(rgb - np.ones(3, np.float32), axis=-1)
    t, left, b, r = _square_board(content + 0.01 < white, 0.002, 2)
    rows = []
    for row in _cells(rgb[t:b, left:r], 3):
        syms = []
        for tile in row:
            idx = _nearest(tile, palette).argmin(-1)
            counts = np.array([(idx == k).mean() for k in range(9)], np.float32)
            best = int(counts.argmax())
            syms.append(str(best + 1) if counts[best] >= tolerance else "?")
        rows.append(" ".join(syms))
    return "\n".join(rows)
