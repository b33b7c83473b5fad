"""Uni-MMMU-style mazes and sliding puzzles: generated, solved uniquely, and drawn in frames.

Each board is drawn the way the release's scorer (`eval_ummmu.py`) reads frames: a square
canvas, the board on a white margin, flat colours from its palettes (no anti-aliasing), and
content on every edge of the board so that its board detection (the bounding box of
non-floor, non-white pixels) finds the whole board.

- Maze: 6x6 cells, walls as whole cells (at least one on each edge of the board), the agent a
  blue dot, the goal a green frame inside its cell. The ground truth is the only shortest
  path from start to goal, and it detours: walls block every straight route.
- Sliding puzzle: 3x3 tiles of the Set1 palette, red the empty space. Every puzzle ends in the
  same final state, the demonstration's (the release tells the model "Final state is exactly
  the same as example"). The ground truth is the only shortest move sequence.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageDraw

from composer.synthetic.unimmmu_vocab import (
    EMPTY_TILE,
    MAZE_COLOURS,
    MAZE_SIZE,
    MOVES,
    SET1,
    SLIDING_SIZE,
)

Cell = tuple[int, int]
MAZE_CELL = 24
SLIDING_CELL = 48
MARGIN = 6
"""White canvas around the board, pixels; the scorer's detection adds 2 px of its own."""
WALL_RATE = 0.38
MAZE_MOVES = (3, 10)
SLIDING_MOVES = (2, 8)
DOT_RADIUS = 0.3
"""The agent's radius as a fraction of a cell: about 28% of the cell is blue (the scorer's
start threshold is 0.1875)."""
GOAL_FRAME = 3
"""The goal frame's thickness, pixels: 44% of the cell is green, under the scorer's direct goal
threshold (0.5625) and over its fallback (0.25), so the goal survives the dot inside it."""
TILE_GAP = 2


@dataclass(frozen=True)
class Maze:
    """A maze: its wall cells, start, goal, and the only shortest path as move names."""

    walls: frozenset[Cell]
    start: Cell
    goal: Cell
    moves: tuple[str, ...]

    def positions(self) -> list[Cell]:
        """The agent's cell before the first move and after each move."""
        cells = [self.start]
        for move in self.moves:
            dr, dc = MOVES[move]
            cells.append((cells[-1][0] + dr, cells[-1][1] + dc))
        return cells

    def grid(self, agent: Cell) -> list[list[str]]:
        """The scorer's symbols for the frame with the agent on `agent`: '#', ' ', S, G, SG."""
        rows = [
            ["#" if (r, c) in self.walls else " " for c in range(MAZE_SIZE)]
            for r in range(MAZE_SIZE)
        ]
        rows[self.goal[0]][self.goal[1]] = "G"
        rows[agent[0]][agent[1]] = "SG" if agent == self.goal else "S"
        return rows


Board = tuple[int, ...]
"""A sliding board row by row: the Set1 index of each cell's colour (EMPTY_TILE = empty)."""


@dataclass(frozen=True)
class Sliding:
    """A sliding puzzle: its initial board and the only shortest move sequence to the goal."""

    start: Board
    moves: tuple[str, ...]

    def boards(self) -> list[Board]:
        """The board before the first move and after each move."""
        boards = [self.start]
        for move in self.moves:
            boards.append(slide(boards[-1], move))
        return boards


def _neighbours(cell: Cell, size: int) -> Iterator[tuple[str, Cell]]:
    for move, (dr, dc) in MOVES.items():
        r, c = cell[0] + dr, cell[1] + dc
        if 0 <= r < size and 0 <= c < size:
            yield move, (r, c)


def _unique_shortest_maze_path(
    walls: frozenset[Cell], start: Cell, goal: Cell
) -> tuple[str, ...] | None:
    """The shortest path as moves if there is exactly one, else None."""
    dist = {start: 0}
    count = {start: 1}
    parent: dict[Cell, tuple[Cell, str]] = {}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        for move, nxt in _neighbours(cell, MAZE_SIZE):
            if nxt in walls:
                continue
            if nxt not in dist:
                dist[nxt], count[nxt], parent[nxt] = dist[cell] + 1, count[cell], (cell, move)
                queue.append(nxt)
            elif dist[nxt] == dist[cell] + 1:
                count[nxt] += count[cell]
    if goal not in dist or count[goal] != 1:
        return None
    moves: list[str] = []
    cell = goal
    while cell != start:
        cell, move = parent[cell]
        moves.append(move)
    return tuple(reversed(moves))


def _walls_on_every_edge(walls: frozenset[Cell]) -> bool:
    last = MAZE_SIZE - 1
    rows = {r for r, _ in walls}
    cols = {c for _, c in walls}
    return {0, last} <= rows and {0, last} <= cols


def make_maze(rng: random.Random, moves: tuple[int, int] = MAZE_MOVES) -> Maze:
    """A random maze whose only shortest path has `moves[0]..moves[1]` moves and detours."""
    cells = [(r, c) for r in range(MAZE_SIZE) for c in range(MAZE_SIZE)]
    while True:
        walls = frozenset(cell for cell in cells if rng.random() < WALL_RATE)
        if not _walls_on_every_edge(walls):
            continue
        start, goal = rng.sample([cell for cell in cells if cell not in walls], 2)
        path = _unique_shortest_maze_path(walls, start, goal)
        straight = abs(goal[0] - start[0]) + abs(goal[1] - start[1])
        if path is not None and moves[0] <= len(path) <= moves[1] and len(path) > straight:
            return Maze(walls, start, goal, path)


def slide(board: Board, move: str) -> Board:
    """The board after the tile next to the empty space slides `move` into it."""
    empty = board.index(EMPTY_TILE)
    dr, dc = MOVES[move]
    r, c = divmod(empty, SLIDING_SIZE)
    tr, tc = r - dr, c - dc  # the tile comes from the side opposite its direction
    if not (0 <= tr < SLIDING_SIZE and 0 <= tc < SLIDING_SIZE):
        raise ValueError(f"no tile can move {move} on board {board}")
    cells = list(board)
    tile = tr * SLIDING_SIZE + tc
    cells[empty], cells[tile] = cells[tile], cells[empty]
    return tuple(cells)


def _legal(board: Board) -> list[str]:
    r, c = divmod(board.index(EMPTY_TILE), SLIDING_SIZE)
    return [
        move
        for move, (dr, dc) in MOVES.items()
        if 0 <= r - dr < SLIDING_SIZE and 0 <= c - dc < SLIDING_SIZE
    ]


def _unique_shortest_slides(start: Board, goal: Board, limit: int) -> tuple[str, ...] | None:
    """The shortest move sequence (at most `limit` moves) if there is exactly one, else None."""
    dist = {start: 0}
    count = {start: 1}
    parent: dict[Board, tuple[Board, str]] = {}
    frontier = [start]
    while frontier and goal not in dist:
        nxt_frontier: list[Board] = []
        for board in frontier:
            if dist[board] >= limit:
                continue
            for move in _legal(board):
                nxt = slide(board, move)
                if nxt not in dist:
                    dist[nxt], count[nxt], parent[nxt] = (
                        dist[board] + 1,
                        count[board],
                        (board, move),
                    )
                    nxt_frontier.append(nxt)
                elif dist[nxt] == dist[board] + 1:
                    count[nxt] += count[board]
        frontier = nxt_frontier
    if goal not in dist or count[goal] != 1:
        return None
    moves: list[str] = []
    board = goal
    while board != start:
        board, move = parent[board]
        moves.append(move)
    return tuple(reversed(moves))


def make_goal(rng: random.Random) -> Board:
    """A random final state: the nine Set1 colours in a random order."""
    cells = list(range(len(SET1)))
    rng.shuffle(cells)
    return tuple(cells)


def make_sliding(
    rng: random.Random, goal: Board, moves: tuple[int, int] = SLIDING_MOVES
) -> Sliding:
    """A puzzle ending in `goal` whose only shortest solution has `moves[0]..moves[1]` moves."""
    while True:
        board = goal
        for _ in range(rng.randint(moves[0], moves[1] + 4)):
            board = slide(board, rng.choice(_legal(board)))
        path = _unique_shortest_slides(board, goal, moves[1])
        if path is not None and len(path) >= moves[0]:
            return Sliding(board, path)


def draw_maze(maze: Maze, agent: Cell) -> Image.Image:
    """The frame with the agent on `agent`, in the scorer's maze palette."""
    side = MAZE_SIZE * MAZE_CELL + 2 * MARGIN
    image = Image.new("RGB", (side, side), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    board = MAZE_SIZE * MAZE_CELL
    draw.rectangle((MARGIN, MARGIN, MARGIN + board - 1, MARGIN + board - 1), MAZE_COLOURS["floor"])

    def box(cell: Cell) -> tuple[int, int, int, int]:
        x0, y0 = MARGIN + cell[1] * MAZE_CELL, MARGIN + cell[0] * MAZE_CELL
        return x0, y0, x0 + MAZE_CELL - 1, y0 + MAZE_CELL - 1

    for cell in maze.walls:
        draw.rectangle(box(cell), MAZE_COLOURS["wall"])
    draw.rectangle(box(maze.goal), outline=MAZE_COLOURS["goal"], width=GOAL_FRAME)
    x0, y0, x1, y1 = box(agent)
    cx, cy, radius = (x0 + x1) / 2, (y0 + y1) / 2, DOT_RADIUS * MAZE_CELL
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), MAZE_COLOURS["start"])
    return image


def draw_sliding(board: Board) -> Image.Image:
    """The frame of `board`: each tile a flat Set1 square with a thin white gap around it."""
    side = SLIDING_SIZE * SLIDING_CELL + 2 * MARGIN
    image = Image.new("RGB", (side, side), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for index, colour in enumerate(board):
        r, c = divmod(index, SLIDING_SIZE)
        x0 = MARGIN + c * SLIDING_CELL + TILE_GAP
        y0 = MARGIN + r * SLIDING_CELL + TILE_GAP
        inner = SLIDING_CELL - 2 * TILE_GAP - 1
        draw.rectangle((x0, y0, x0 + inner, y0 + inner), SET1[colour])
    return image


def sliding_ascii(board: Board) -> str:
    """The scorer's reading of a sliding frame: labels 1-9, space-separated, row by row."""
    return "\n".join(
        " ".join(str(board[r * SLIDING_SIZE + c] + 1) for c in range(SLIDING_SIZE))
        for r in range(SLIDING_SIZE)
    )
