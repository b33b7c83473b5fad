"""Cognitive navigation: read a maze from pixels, follow its corridors, trace and read paths.

The grid is found from the walls themselves: the finest n x n lattice whose every vertex is
dark, since walls meet (or a post stands) at every grid vertex. Walls between cells are probed
at edge midpoints, the start is the green disc and exits are cells filled with an exit colour.
The reasoner can follow a corridor only a dozen cells in its head; the painter traces the
whole path, but its stroke can slip into a side corridor where corridors are narrow.
"""

from __future__ import annotations

import random
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from composer.synthetic.symbolic.geu_pixels import Pixels, blobs, marker_mask, pick, remembered
from composer.synthetic.vocab import EXIT_COLOURS, MARKER, START_COLOUR

MENTAL_PATH = 12
"""Cells of corridor the reasoner can follow in its head."""
STEADY_CORRIDOR = 44.0
"""Corridors narrower than this (pixels) make the painter's stroke slip at junctions."""

Cell = tuple[int, int]
_TURNS = re.compile(r"how many turns", re.I)


@dataclass(frozen=True)
class MazeView:
    """A maze as read from pixels."""

    n: int
    x0: float
    y0: float
    cell: float
    walls: frozenset[tuple[Cell, Cell]]
    start: Cell
    exits: dict[Cell, str]

    def centre(self, cell: Cell) -> tuple[float, float]:
        """Pixel (x, y) of a cell's centre."""
        return self.x0 + (cell[1] + 0.5) * self.cell, self.y0 + (cell[0] + 0.5) * self.cell

    def cell_at(self, x: float, y: float) -> Cell:
        """The cell under pixel (x, y), clamped to the grid."""
        c = int((x - self.x0) // self.cell)
        r = int((y - self.y0) // self.cell)
        return min(self.n - 1, max(0, r)), min(self.n - 1, max(0, c))

    def neighbours(self, cell: Cell) -> list[Cell]:
        """Cells reachable in one step through an open side."""
        r, c = cell
        out = []
        for nxt in ((r, c + 1), (r + 1, c), (r, c - 1), (r - 1, c)):
            if 0 <= nxt[0] < self.n and 0 <= nxt[1] < self.n:
                if (min(cell, nxt), max(cell, nxt)) not in self.walls:
                    out.append(nxt)
        return out


def _lattice(dark: np.ndarray, x0: int, y0: int, span: float, t: int) -> int | None:
    """The finest n x n grid whose every vertex is dark (walls meet or posts stand there)."""
    for n in range(24, 2, -1):
        c = (span - t) / n
        if c < 8:
            continue
        at = np.round(t / 2 + np.arange(n + 1) * c).astype(np.int64)
        ys, xs = y0 + at, x0 + at
        if ys[-1] + 1 > dark.shape[0] or xs[-1] + 1 > dark.shape[1]:
            continue
        posts = (
            dark[np.ix_(ys - 1, xs - 1)]
            & dark[np.ix_(ys - 1, xs)]
            & dark[np.ix_(ys, xs - 1)]
            & dark[np.ix_(ys, xs)]
        )
        if posts.all():
            return n
    return None


def _mostly(patch: NDArray[np.bool_]) -> bool:
    """Whether more than half of `patch` is set (`patch.mean() > 0.5`, without a float mean)."""
    return 2 * int(np.count_nonzero(patch)) > patch.size


@remembered
def read_maze(pixels: Pixels) -> MazeView | None:
    """Parse the maze, or None when the image shows no readable maze."""
    # Channel by channel: numpy's reductions over a last axis of 3 are its slow case.
    dark: NDArray[np.bool_] = (pixels[..., 0] < 90) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    cols, rows = dark.sum(axis=0), dark.sum(axis=1)
    if dark.sum() < 200:
        return None
    xs, ys = np.flatnonzero(cols), np.flatnonzero(rows)
    x0, x1, y0, y1 = int(xs[0]), int(xs[-1]) + 1, int(ys[0]), int(ys[-1]) + 1
    span = float(min(x1 - x0, y1 - y0))
    t = 0
    while t < 12 and cols[x0 + t] > 0.5 * (y1 - y0):
        t += 1
    n = _lattice(dark, x0, y0, span, max(t, 1))
    if n is None:
        return None
    c = (span - t) / n
    gx, gy = x0 + t / 2, y0 + t / 2
    walls: set[tuple[Cell, Cell]] = set()
    half = max(2, round(c / 6))
    for r in range(n):
        for j in range(n):
            cx, cy = round(gx + (j + 0.5) * c), round(gy + (r + 0.5) * c)
            if j + 1 < n:
                xw = round(gx + (j + 1) * c)
                if _mostly(dark[cy - half : cy + half, xw - 1 : xw + 1]):
                    walls.add(((r, j), (r, j + 1)))
            if r + 1 < n:
                yw = round(gy + (r + 1) * c)
                if _mostly(dark[yw - 1 : yw + 1, cx - half : cx + half]):
                    walls.add(((r, j), (r + 1, j)))
    view = MazeView(n, gx, gy, c, frozenset(walls), (0, 0), {})
    found = blobs(pixels, min_area=max(8, int(0.05 * c * c)))
    starts = [b for b in found if b.colour == START_COLOUR]
    if not starts:
        return None
    exits: dict[Cell, str] = {}
    for b in found:
        if b.colour in EXIT_COLOURS and b.area >= 0.2 * c * c:
            exits.setdefault(view.cell_at(b.cx, b.cy), b.colour)
    start = view.cell_at(starts[0].cx, starts[0].cy)
    return MazeView(n, gx, gy, c, frozenset(walls), start, exits)


def _bfs(view: MazeView, limit: int | None = None) -> dict[Cell, Cell | None]:
    parent: dict[Cell, Cell | None] = {view.start: None}
    depth = {view.start: 0}
    queue = deque([view.start])
    while queue:
        cell = queue.popleft()
        if limit is not None and depth[cell] >= limit:
            continue
        for nxt in view.neighbours(cell):
            if nxt not in parent:
                parent[nxt] = cell
                depth[nxt] = depth[cell] + 1
                queue.append(nxt)
    return parent


def _path_to(parent: dict[Cell, Cell | None], goal: Cell) -> list[Cell]:
    path = [goal]
    while (prev := parent[path[-1]]) is not None:
        path.append(prev)
    return path[::-1]


def exit_path(view: MazeView, limit: int | None = None) -> list[Cell] | None:
    """The corridor path from the start to the nearest reachable exit (within `limit` steps)."""
    parent = _bfs(view, limit)
    reached = [cell for cell in view.exits if cell in parent]
    if not reached:
        return None
    paths = [_path_to(parent, cell) for cell in reached]
    return min(paths, key=lambda p: (len(p), p[-1]))


def turns_of(path: Sequence[Cell]) -> int:
    """How many times a cell path changes direction."""
    steps = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(path, path[1:], strict=False)]
    return sum(1 for s, t in zip(steps, steps[1:], strict=False) if s != t)


def _nearest_exit(view: MazeView) -> Cell | None:
    if not view.exits:
        return None
    sr, sc = view.start
    return min(view.exits, key=lambda e: ((e[0] - sr) ** 2 + (e[1] - sc) ** 2, e))


def read_trace(view: MazeView, pixels: Pixels) -> list[Cell] | None:
    """Follow a marker trace from the start; the cell path if it ends on an exit."""
    mark = marker_mask(pixels)
    q = max(2, round(view.cell / 8))

    def marked(x: float, y: float) -> bool:
        xi, yi = round(x), round(y)
        return bool(mark[yi - q : yi + q, xi - q : xi + q].mean() > 0.3)

    path = [view.start]
    seen = {view.start}
    while path[-1] not in view.exits:
        r, c = path[-1]
        x, y = view.centre(path[-1])
        step = None
        for nxt in ((r, c + 1), (r + 1, c), (r, c - 1), (r - 1, c)):
            if nxt in seen or not (0 <= nxt[0] < view.n and 0 <= nxt[1] < view.n):
                continue
            nx, ny = view.centre(nxt)
            if marked(nx, ny) and marked((x + nx) / 2, (y + ny) / 2):
                step = nxt
                break
        if step is None:
            return None
        path.append(step)
        seen.add(step)
    return path


def answer(question: str, options: Sequence[str], images: Sequence[Pixels], *, naive: bool) -> int:
    """Which exit the start leads to, or how many turns the path to it makes.

    A traced path that ends on an exit is read directly. Otherwise the reasoner follows the
    corridors up to a dozen cells and, failing that, picks the exit that looks nearest, as the
    naive model always does.
    """
    wants_turns = bool(_TURNS.search(question))
    for img in reversed(images):
        view = read_maze(img)
        if view is None:
            continue
        path = read_trace(view, img) if marker_mask(img).sum() >= 30 else None
        if path is None and not naive:
            path = exit_path(view, MENTAL_PATH)
        if path is not None:
            wanted = str(turns_of(path)) if wants_turns else view.exits[path[-1]]
            return pick(options, wanted, question, images[0])
        near = _nearest_exit(view)
        if near is not None:
            sr, sc = view.start
            guess = str(int(near[0] != sr and near[1] != sc)) if wants_turns else view.exits[near]
            return pick(options, guess, question, images[0])
    return pick(options, None, question, images[0])


def _stroke(out: Pixels, a: tuple[float, float], b: tuple[float, float], width: float) -> None:
    (xa, ya), (xb, yb) = a, b
    h = max(1, round(width / 2))
    if round(xa) == round(xb) or round(ya) == round(yb):
        x0, x1 = sorted((round(xa), round(xb)))
        y0, y1 = sorted((round(ya), round(yb)))
        out[max(0, y0 - h) : y1 + h, max(0, x0 - h) : x1 + h] = MARKER
        return
    steps = int(max(abs(xb - xa), abs(yb - ya))) + 1
    for s in np.linspace(0.0, 1.0, steps):
        x, y = round(xa + (xb - xa) * s), round(ya + (yb - ya) * s)
        out[max(0, y - h) : y + h, max(0, x - h) : x + h] = MARKER


def edit(pixels: Pixels, seed: int, *, naive: bool) -> Pixels:
    """Trace the path from the start to its exit in the marker colour.

    The painter follows the corridors (breadth-first search); where corridors are narrower
    than its stroke can hold, it may turn into a side corridor at a junction and run to a
    dead end. The naive editor draws a straight line to the exit that looks nearest.
    """
    view = read_maze(pixels)
    if view is None:
        return pixels
    out = pixels.copy()
    width = max(3.0, view.cell / 8)
    if naive:
        near = _nearest_exit(view)
        if near is not None:
            _stroke(out, view.centre(view.start), view.centre(near), width)
        return out
    path = exit_path(view)
    if path is None:
        return out
    rng = random.Random(seed)
    slip = 0.6 * max(0.0, 1.0 - view.cell / STEADY_CORRIDOR)
    drawn = [path[0]]
    for i, cell in enumerate(path[1:], start=1):
        drawn.append(cell)
        side = [
            c
            for c in view.neighbours(cell)
            if c != path[i - 1] and (i + 1 >= len(path) or c != path[i + 1])
        ]
        if side and i + 1 < len(path) and rng.random() < slip:
            seen = set(drawn)
            nxt: Cell | None = rng.choice(side)
            while nxt is not None:
                drawn.append(nxt)
                seen.add(nxt)
                ahead = [c for c in view.neighbours(nxt) if c not in seen]
                nxt = rng.choice(ahead) if ahead else None
            break
    for a, b in zip(drawn, drawn[1:], strict=False):
        _stroke(out, view.centre(a), view.centre(b), width)
    return out
