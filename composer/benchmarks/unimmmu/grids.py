"""Maze and sliding-puzzle frames read back to grids, exactly as Uni-MMMU's scorer reads them.

The release (`eval_ummmu.py`, `UtilityHelpers.parse_maze_image` and
`parse_sliding_puzzle_image`) finds the board as the bounding square of "content" pixels, cuts
it into equal cells, labels each pixel with its nearest palette colour (Euclidean distance in
RGB scaled to [0, 1], float32) and labels each cell from the shares of those labels. Every step
below is the release's, in its order and its arithmetic (float32 shares, Python's `round` for
cell edges, `argmin` ties to the first label), so a frame gets the same grid here as there.

Maze cells read `"#"` (wall), `" "` (floor), `"S"` (start, the blue dot), `"G"` (goal, the
green frame), `"SG"` (both) or `"?"`. Sliding cells read `"1"`..`"9"` (the Set1 colour's
index + 1) or `"?"`, joined as the release's ASCII (`" "` between cells, newline between rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Grid = list[list[str]]
Cell = tuple[int, int]
RGB = NDArray[np.float32]


def hex_rgb(code: str) -> RGB:
    """`"#rrggbb"` as a float32 RGB triple in [0, 1], as the release converts its palettes."""
    code = code.lstrip("#")
    return np.array([int(code[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32) / 255.0


MAZE_PALETTE: dict[str, str] = {
    "floor": "#f4efe6",
    "wall": "#1f2937",
    "start": "#2563eb",
    "goal": "#22c55e",
    "white": "#ffffff",
    "path": "#ef4444",
}
"""The maze images' colours (the release's `PALETTE`)."""

SET1_9: tuple[str, ...] = (
    "#e41a1c",
    "#377eb8",
    "#4daf4a",
    "#984ea3",
    "#ff7f00",
    "#ffff33",
    "#a65628",
    "#f781bf",
    "#999999",
)
"""The sliding tiles' colours (matplotlib Set1); tile label = index + 1, red (1) is empty."""

MAZE_TOLERANCE = 0.75
"""The release's maze `parser_params` tolerance (the function's own default, 0.60, is unused)."""
SLIDING_TOLERANCE = 0.80
"""The release's sliding `parser_params` tolerance."""
_HEURISTIC_MIN_START = 0.08
_HEURISTIC_MIN_GOAL = 0.25
_MAZE_LABELS = ("floor", "wall", "start", "goal")


def to_rgb01(image: Image.Image | Path | str) -> RGB:
    """An image (or the file at a path) as float32 RGB in [0, 1], as the release reads it."""
    if not isinstance(image, Image.Image):
        with Image.open(image) as opened:
            return to_rgb01(opened.convert("RGB") if opened.mode != "RGB" else opened.copy())
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image).astype(np.float32) / 255.0


def _dist(a: RGB, b: RGB) -> RGB:
    # np.linalg.norm(a - b, axis=-1), written out: the same sum in the same order (the three
    # channels' squares, left to right), so the same bits, without the generic reduction.
    d = a - b
    r, g, bl = d[..., 0], d[..., 1], d[..., 2]
    return np.asarray(np.sqrt(r * r + g * g + bl * bl))


def _edges(mask: NDArray[np.bool_], thresh: float) -> tuple[int, int, int, int]:
    """First and last row, first and last column whose content share exceeds `thresh`."""
    h, w = mask.shape
    rows = [i for i in range(h) if mask[i].mean() > thresh]
    cols = [j for j in range(w) if mask[:, j].mean() > thresh]
    top, bottom = (rows[0], rows[-1]) if rows else (0, h - 1)
    left, right = (cols[0], cols[-1]) if cols else (0, w - 1)
    return top, bottom, left, right


def _board_square(
    mask: NDArray[np.bool_], thresh: float, margin: int, *, swap_limits: bool, fixed: bool = False
) -> tuple[int, int, int, int]:
    """The release's square around the content: (top, left, bottom, right), bottom/right open.

    The maze parser clamps the bottom edge by the image width and the right edge by its
    height (`swap_limits`); the sliding parser clamps them the right way round. The two agree
    on square images; both are kept, as both are the release's. A negative start (content
    larger than the image on one side) is kept too: NumPy then slices from the end, as there.
    `fixed` (the strict reading) clamps the right way and never starts before the image.
    """
    h, w = mask.shape
    top, bottom, left, right = _edges(mask, thresh)
    top, left = max(0, top - margin), max(0, left - margin)
    bottom, right = min(h - 1, bottom + margin), min(w - 1, right + margin)
    side = max(bottom - top + 1, right - left + 1)
    cy, cx, half = (top + bottom) // 2, (left + right) // 2, side // 2
    row_limit, col_limit = (w, h) if swap_limits and not fixed else (h, w)
    floor = 0 if fixed else -side
    t = max(0, cy - half)
    b = min(row_limit, t + side)
    t = max(floor, b - side)
    left_edge = max(0, cx - half)
    r = min(col_limit, left_edge + side)
    left_edge = max(floor, r - side)
    return t, left_edge, b, r


def _cells(board: NDArray[Any], rows: int, cols: int) -> list[list[NDArray[Any]]]:
    """A board (an image, or its pixels' labels) cut in tiles with the release's rounded edges."""
    cell_h, cell_w = board.shape[0] / rows, board.shape[1] / cols
    tiles = []
    for gr in range(rows):
        y0, y1 = int(round(gr * cell_h)), int(round((gr + 1) * cell_h))
        tiles.append(
            [
                board[y0:y1, int(round(gc * cell_w)) : int(round((gc + 1) * cell_w))]
                for gc in range(cols)
            ]
        )
    return tiles


@dataclass(frozen=True)
class MazeFrame:
    """A maze image read back: its grid and the start and goal cells (None when not found)."""

    grid: Grid
    start: Cell | None
    goal: Cell | None


def _maze_board(rgb: RGB, *, fixed_square: bool = False) -> RGB:
    palette = {k: hex_rgb(v) for k, v in MAZE_PALETTE.items()}
    content = np.stack([_dist(rgb, palette[k]) for k in ("wall", "start", "goal", "path")], -1)
    whiteish = np.stack([_dist(rgb, palette[k]) for k in ("white", "floor")], -1)
    mask = (content.min(axis=-1) + 0.01) < whiteish.min(axis=-1)
    t, left, b, r = _board_square(mask, 0.003, 2, swap_limits=True, fixed=fixed_square)
    return rgb[t:b, left:r, :]


def parse_maze(
    image: Image.Image | Path | str,
    *,
    tolerance: float = MAZE_TOLERANCE,
    size: int = 6,
    fixed_square: bool = False,
) -> MazeFrame:
    """A maze frame's 6x6 grid, start and goal, exactly as `parse_maze_image` reads them.

    Per cell: start if the blue share is at least `tolerance * 0.25`, goal if the green share
    is at least `tolerance * 0.75` (both: `"SG"`), else wall or floor if that share reaches
    `tolerance`, else `"?"`. The last start (goal) cell in row-major order is the start
    (goal). With none, the cell with the largest blue share is the start if that share is at
    least 0.08, and the largest green share the goal if at least 0.25; a start that is also
    the goal reads `"SG"`.

    The release clamps the board square's rows by the image width and its columns by the
    height, so on a non-square image (a 3:2 generator frame) the square slices to nothing and
    every cell reads `"?"`. `fixed_square=True` clamps them the right way (strict reading).
    """
    palette = [hex_rgb(MAZE_PALETTE[k]) for k in _MAZE_LABELS]
    board = _maze_board(to_rgb01(image), fixed_square=fixed_square)
    # Each pixel's nearest colour, once for the board: the release labels tile by tile, and a
    # pixel's label depends on that pixel alone, so the tiles' labels are these, sliced.
    board_labels = np.argmin(np.stack([_dist(board, c) for c in palette], axis=-1), axis=-1)
    s_thresh, g_thresh = tolerance * 0.25, tolerance * 0.75
    fracs = np.zeros((size, size, 4), dtype=np.float32)
    grid: Grid = []
    start: Cell | None = None
    goal: Cell | None = None
    for gr, row in enumerate(_cells(board_labels, size, size)):
        symbols = []
        for gc, labels in enumerate(row):
            if labels.size == 0:
                symbols.append("?")
                continue
            share = np.array([(labels == k).mean() for k in range(4)], dtype=np.float32)
            fracs[gr, gc, :] = share
            f_floor, f_wall, f_start, f_goal = share[0], share[1], share[2], share[3]
            if f_start >= s_thresh and f_goal >= g_thresh:
                start = goal = (gr, gc)
                symbols.append("SG")
            elif f_start >= s_thresh:
                start = (gr, gc)
                symbols.append("S")
            elif f_goal >= g_thresh:
                goal = (gr, gc)
                symbols.append("G")
            else:
                symbols.append("#" if f_wall >= tolerance else " " if f_floor >= tolerance else "?")
        grid.append(symbols)
    if start is None:
        best = np.unravel_index(np.argmax(fracs[:, :, 2]), (size, size))
        if fracs[best[0], best[1], 2] >= _HEURISTIC_MIN_START:
            start = (int(best[0]), int(best[1]))
            grid[start[0]][start[1]] = "S"
    if goal is None:
        best = np.unravel_index(np.argmax(fracs[:, :, 3]), (size, size))
        if fracs[best[0], best[1], 3] >= _HEURISTIC_MIN_GOAL:
            goal = (int(best[0]), int(best[1]))
            grid[goal[0]][goal[1]] = "SG" if grid[goal[0]][goal[1]] == "S" else "G"
    if start is not None and start == goal:
        grid[start[0]][start[1]] = "SG"
    return MazeFrame(grid, start, goal)


MOVES: dict[str, Cell] = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
"""A move's (row, column) step; any other word moves nowhere, as in the release."""


def walls_of(grid: Grid) -> list[list[bool]]:
    """The wall map of a parsed grid (only `"#"` is a wall; `"?"` counts as open)."""
    return [[cell == "#" for cell in row] for row in grid]


def simulate_maze(
    start: Cell, goal: Cell | None, walls: list[list[bool]], moves: Sequence[str]
) -> list[Grid]:
    """The grid after each move, as `MazeEvaluator._simulate_expected_grids` builds them.

    A move into a wall or off the board leaves the dot in place (the frame still counts);
    an unknown word moves nowhere. Frame i shows walls, the goal (`"G"`) and the dot (`"S"`,
    or `"SG"` on the goal); the start frame itself is not included.
    """
    rows, cols = len(walls), len(walls[0])
    r, c = start
    frames = []
    for move in moves:
        dr, dc = MOVES.get(move, (0, 0))
        if 0 <= r + dr < rows and 0 <= c + dc < cols and not walls[r + dr][c + dc]:
            r, c = r + dr, c + dc
        grid = [["#" if wall else " " for wall in row] for row in walls]
        if goal:
            grid[goal[0]][goal[1]] = "G"
        grid[r][c] = "SG" if (r, c) == goal else "S"
        frames.append(grid)
    return frames


def maze_parse_ok(grid: Grid | None, walls: list[list[bool]]) -> bool:
    """The release's `_is_parse_ok`: no `"?"`, the same walls, and one S with one G or one SG."""
    if grid is None or len(grid) != len(walls) or (grid and len(grid[0]) != len(walls[0])):
        return False
    flat = [cell for row in grid for cell in row]
    if "?" in flat or any(
        (cell == "#") != wall
        for row, wall_row in zip(grid, walls, strict=False)
        for cell, wall in zip(row, wall_row, strict=False)
    ):
        return False
    s, g, sg = flat.count("S"), flat.count("G"), flat.count("SG")
    return (sg == 1 and s == 0 and g == 0) or (sg == 0 and s == 1 and g == 1)


def parse_sliding(
    image: Image.Image | Path | str,
    *,
    tolerance: float = SLIDING_TOLERANCE,
    size: int = 3,
    fixed_square: bool = False,
) -> str:
    """A sliding frame as the release's ASCII (`parse_sliding_puzzle_image(...)["ascii"]`).

    The board is the bounding square of pixels nearer a Set1 colour than white (plus 2 px);
    each cell is the index + 1 of its most common nearest Set1 colour when that colour covers
    at least `tolerance` of the cell, else `"?"`. When the square is larger than the image on
    one side (a board filling a non-square frame's height), the release's crop starts before
    the image and slices from its end; `fixed_square=True` starts it at the edge (strict).
    """
    palette = [hex_rgb(code) for code in SET1_9]
    rgb = to_rgb01(image)
    white = np.array([1.0, 1.0, 1.0])
    dists = np.stack([_dist(rgb, c) for c in palette], axis=-1)
    mask = (dists.min(axis=-1) + 0.01) < _dist(rgb, white)
    t, left, b, r = _board_square(mask, 0.002, 2, swap_limits=False, fixed=fixed_square)
    # Each pixel's nearest colour, once: a pixel's label depends on that pixel alone, so the
    # release's tile-by-tile labels are these, sliced the same way.
    pixel_labels = np.argmin(dists, axis=-1)
    rows = []
    for row in _cells(pixel_labels[t:b, left:r], size, size):
        symbols = []
        for labels in row:
            if labels.size == 0:
                symbols.append("?")
                continue
            counts = np.array([(labels == k).mean() for k in range(len(palette))], np.float32)
            best = int(counts.argmax())
            symbols.append(str(best + 1) if float(counts[best]) >= tolerance else "?")
        rows.append(" ".join(symbols))
    return "\n".join(rows)
