"""Reading, solving and editing Uni-MMMU-style maze and sliding-puzzle frames from pixels.

A frame is read like a careful model would: find the board (the bounding box of everything
that is not the white canvas), cut it into its cells, and label each cell by the palette
colour most of its pixels are nearest to. Mazes are solved by breadth-first search, sliding
puzzles by A* with the Manhattan distance. An edit changes only the pixels a move changes:
the agent's dot moves to the next cell, or the sliding tile and the empty space swap colours.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from composer.synthetic.unimmmu_vocab import (
    EMPTY_TILE,
    MAZE_COLOURS,
    MAZE_SIZE,
    MOVES,
    SET1,
    SLIDING_SIZE,
)

Cell = tuple[int, int]
Board = tuple[int, ...]
CANVAS_MIN = 248
"""A pixel whose three channels are all at least this is canvas, not board (maze floor: 244)."""
WALL_SHARE = 0.5
DOT_SHARE = 0.08
GOAL_SHARE = 0.15
READ_STRIDE = 2
"""Cells are read on every second pixel in each direction."""
SEARCH_LIMIT = 200_000
"""A* gives up after this many expansions (a 3x3 puzzle has 181,440 reachable states)."""

_MAZE_LABELS = ("floor", "wall", "start", "goal")
_MAZE_PALETTE = np.array([MAZE_COLOURS[k] for k in _MAZE_LABELS], np.int32)
_SET1 = np.array(SET1, np.int32)


class UnreadableFrame(ValueError):
    """The image does not show a board the reader can make out."""


@dataclass(frozen=True)
class Geometry:
    """Where the board lies in the image: its top-left pixel and one cell's side."""

    top: int
    left: int
    cell: float

    def box(self, cell: Cell) -> tuple[int, int, int, int]:
        """The pixel rows and columns (y0, y1, x0, x1) of `cell`."""
        r, c = cell
        return (
            self.top + round(r * self.cell),
            self.top + round((r + 1) * self.cell),
            self.left + round(c * self.cell),
            self.left + round((c + 1) * self.cell),
        )

    def edges(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The pixel rows and the pixel columns where the `size` cells begin, and the end."""
        steps = np.round(np.arange(size + 1) * self.cell).astype(np.int64)
        return self.top + steps, self.left + steps


def _board(pixels: np.ndarray, size: int, canvas_min: int) -> Geometry:
    mask = np.minimum(np.minimum(pixels[..., 0], pixels[..., 1]), pixels[..., 2]) < canvas_min
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if rows.size == 0:
        raise UnreadableFrame("the image is blank")
    side = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    return Geometry(int(rows[0]), int(cols[0]), side / size)


def _nearest(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each pixel's index of the nearest palette colour (squared RGB distance)."""
    # Channel by channel: numpy reduces a trailing axis of three slowly.
    channels = [pixels[..., i].astype(np.int32) for i in range(3)]
    dists = np.stack(
        [
            sum((ch - int(v)) ** 2 for ch, v in zip(channels, colour, strict=True))
            for colour in palette
        ]
    )
    labels: np.ndarray = dists.argmin(axis=0)
    return labels


def _cell_shares(pixels: np.ndarray, geometry: Geometry, size: int) -> np.ndarray:
    """Each cell's share of pixels nearest each maze colour, read on every second pixel."""
    labels = _nearest(pixels[::READ_STRIDE, ::READ_STRIDE], _MAZE_PALETTE)
    onehot = (labels[..., None] == np.arange(len(_MAZE_PALETTE))).astype(np.int32)
    table = np.zeros((labels.shape[0] + 1, labels.shape[1] + 1, onehot.shape[2]), np.int32)
    table[1:, 1:] = onehot.cumsum(axis=0).cumsum(axis=1)
    ys, xs = (-(-edges // READ_STRIDE) for edges in geometry.edges(size))
    counts = (
        table[ys[1:]][:, xs[1:]]
        - table[ys[:-1]][:, xs[1:]]
        - table[ys[1:]][:, xs[:-1]]
        + table[ys[:-1]][:, xs[:-1]]
    )
    areas = np.outer(np.diff(ys), np.diff(xs)).clip(min=1)
    shares: np.ndarray = counts / areas[..., None]
    return shares


@dataclass(frozen=True)
class MazeView:
    """A maze as read from a frame."""

    walls: frozenset[Cell]
    agent: Cell
    goal: Cell
    geometry: Geometry


def read_maze(pixels: np.ndarray) -> MazeView:
    """Read walls, the agent's dot and the goal's frame from a maze frame."""
    geometry = _board(pixels, MAZE_SIZE, CANVAS_MIN)
    shares = _cell_shares(pixels, geometry, MAZE_SIZE)
    rows, cols = np.nonzero(shares[..., 1] > WALL_SHARE)
    walls = frozenset((int(r), int(c)) for r, c in zip(rows, cols, strict=True))
    dot = np.unravel_index(int(shares[..., 2].argmax()), (MAZE_SIZE, MAZE_SIZE))
    goal = np.unravel_index(int(shares[..., 3].argmax()), (MAZE_SIZE, MAZE_SIZE))
    if shares[..., 2].max() < DOT_SHARE or shares[..., 3].max() < GOAL_SHARE:
        raise UnreadableFrame("no blue dot or no green goal frame")
    agent = (int(dot[0]), int(dot[1]))
    return MazeView(walls, agent, (int(goal[0]), int(goal[1])), geometry)


def _step(cell: Cell, move: str) -> Cell:
    dr, dc = MOVES[move]
    return cell[0] + dr, cell[1] + dc


def _inside(cell: Cell, size: int) -> bool:
    return 0 <= cell[0] < size and 0 <= cell[1] < size


def solve_maze(view: MazeView) -> list[str]:
    """The shortest move list from the agent to the goal (breadth-first search)."""
    parent: dict[Cell, tuple[Cell, str] | None] = {view.agent: None}
    frontier = [view.agent]
    while frontier and view.goal not in parent:
        nxt: list[Cell] = []
        for cell in frontier:
            for move in MOVES:
                target = _step(cell, move)
                if _inside(target, MAZE_SIZE) and target not in view.walls:
                    if target not in parent:
                        parent[target] = (cell, move)
                        nxt.append(target)
        frontier = nxt
    if view.goal not in parent:
        raise UnreadableFrame("the goal cannot be reached from the dot")
    moves: list[str] = []
    link = parent[view.goal]
    while link is not None:
        moves.append(link[1])
        link = parent[link[0]]
    return moves[::-1]


def walk(view: MazeView, moves: list[str]) -> MazeView:
    """The maze with the agent moved by `moves` (a blocked move stays in place)."""
    agent = view.agent
    for move in moves:
        target = _step(agent, move)
        if _inside(target, MAZE_SIZE) and target not in view.walls:
            agent = target
    return MazeView(view.walls, agent, view.goal, view.geometry)


def move_dot(pixels: np.ndarray, move: str) -> np.ndarray:
    """The frame after the agent moves one cell `move`; a blocked move changes nothing."""
    view = read_maze(pixels)
    target = _step(view.agent, move)
    out = pixels.copy()
    if not _inside(target, MAZE_SIZE) or target in view.walls:
        return out
    y0, y1, x0, x1 = view.geometry.box(view.agent)
    dot = _nearest(pixels[y0:y1, x0:x1], _MAZE_PALETTE) == 2
    out[y0:y1, x0:x1][dot] = MAZE_COLOURS["floor"]
    ty0, _, tx0, _ = view.geometry.box(target)
    ys, xs = np.nonzero(dot)
    ys, xs = ys + ty0, xs + tx0
    keep = (ys < out.shape[0]) & (xs < out.shape[1])
    out[ys[keep], xs[keep]] = MAZE_COLOURS["start"]
    return out


@dataclass(frozen=True)
class SlidingView:
    """A sliding board as read from a frame."""

    board: Board
    geometry: Geometry


def read_sliding(pixels: np.ndarray) -> SlidingView:
    """Read each tile's Set1 colour from the middle of its cell."""
    geometry = _board(pixels, SLIDING_SIZE, 235)
    cores = []
    for r in range(SLIDING_SIZE):
        for c in range(SLIDING_SIZE):
            y0, y1, x0, x1 = geometry.box((r, c))
            dy, dx = (y1 - y0) // 4, (x1 - x0) // 4
            core = pixels[y0 + dy : y1 - dy : READ_STRIDE, x0 + dx : x1 - dx : READ_STRIDE]
            if core.size == 0:
                raise UnreadableFrame("the board is too small")
            cores.append(np.median(core.reshape(-1, 3), axis=0))
    board = [int(label) for label in _nearest(np.array(cores), _SET1)]
    if board.count(EMPTY_TILE) != 1:
        raise UnreadableFrame(f"{board.count(EMPTY_TILE)} red cells, not one")
    return SlidingView(tuple(board), geometry)


def tile_for(board: Board, move: str) -> int | None:
    """The cell index of the tile that would slide `move` into the empty space, if any."""
    r, c = divmod(board.index(EMPTY_TILE), SLIDING_SIZE)
    dr, dc = MOVES[move]
    tile = (r - dr, c - dc)
    return tile[0] * SLIDING_SIZE + tile[1] if _inside(tile, SLIDING_SIZE) else None


def legal_slides(board: Board) -> list[str]:
    """The moves some tile can make, in `MOVES` order."""
    return [move for move in MOVES if tile_for(board, move) is not None]


def _slide(board: Board, move: str) -> Board:
    tile = tile_for(board, move)
    assert tile is not None
    empty = board.index(EMPTY_TILE)
    cells = list(board)
    cells[empty], cells[tile] = cells[tile], cells[empty]
    return tuple(cells)


def slide_all(board: Board, moves: list[str]) -> Board:
    """The board after `moves` (an illegal move changes nothing)."""
    for move in moves:
        if tile_for(board, move) is not None:
            board = _slide(board, move)
    return board


def _manhattan(board: Board, goal: Board) -> int:
    where = {colour: divmod(i, SLIDING_SIZE) for i, colour in enumerate(goal)}
    total = 0
    for i, colour in enumerate(board):
        if colour != EMPTY_TILE:
            r, c = divmod(i, SLIDING_SIZE)
            gr, gc = where[colour]
            total += abs(r - gr) + abs(c - gc)
    return total


def solve_sliding(board: Board, goal: Board) -> list[str]:
    """The shortest move list from `board` to `goal` (A*, Manhattan distance)."""
    if sorted(board) != sorted(goal):
        raise UnreadableFrame("the two boards do not hold the same tiles")
    best = {board: 0}
    parent: dict[Board, tuple[Board, str]] = {}
    heap = [(_manhattan(board, goal), 0, board)]
    for _ in range(SEARCH_LIMIT):
        if not heap:
            break
        _, cost, state = heapq.heappop(heap)
        if state == goal:
            moves: list[str] = []
            while state != board:
                state, move = parent[state]
                moves.append(move)
            return moves[::-1]
        if cost > best[state]:
            continue
        for move in legal_slides(state):
            nxt = _slide(state, move)
            if cost + 1 < best.get(nxt, cost + 2):
                best[nxt], parent[nxt] = cost + 1, (state, move)
                heapq.heappush(heap, (cost + 1 + _manhattan(nxt, goal), cost + 1, nxt))
    raise UnreadableFrame("the final state cannot be reached from this board")


def slide_tile(pixels: np.ndarray, move: str) -> np.ndarray:
    """The frame after a tile slides `move` into the empty space (an illegal move: unchanged).

    Only the two cells' colours change: the tile becomes red, the red cell the tile.
    """
    view = read_sliding(pixels)
    tile = tile_for(view.board, move)
    out = pixels.copy()
    if tile is None:
        return out
    empty = view.board.index(EMPTY_TILE)
    colour = view.board[tile]
    for cell, was, becomes in ((tile, colour, EMPTY_TILE), (empty, EMPTY_TILE, colour)):
        y0, y1, x0, x1 = view.geometry.box(divmod(cell, SLIDING_SIZE))
        region = pixels[y0:y1, x0:x1]
        close = np.abs(region.astype(np.int16) - np.array(SET1[was], np.int16)).max(axis=-1) < 40
        out[y0:y1, x0:x1][close] = SET1[becomes]
    return out
