"""Scene drawing for the synthetic GEU generators: jigsaws, segment digits, clutter, mazes."""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from composer.synthetic.vocab import (
    DIGIT_SEGMENTS,
    EXIT_COLOURS,
    LAYOUT,
    PALETTE,
    PAPER,
    SEGMENTS,
    SHAPE_KINDS,
    START_COLOUR,
    WALL,
)

SIZE = 384
Cell = tuple[int, int]
SegmentState = dict[tuple[int, str], str]


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


def draw_shape(
    draw: ImageDraw.ImageDraw, colour: str, kind: str, cx: float, cy: float, size: float
) -> None:
    """Draw a filled shape whose bounding box is `size` pixels wide, centred on (cx, cy)."""
    h = size / 2
    box = (cx - h, cy - h, cx + h - 1, cy + h - 1)
    fill = PALETTE[colour]
    if kind == "circle":
        draw.ellipse(box, fill=fill)
    elif kind == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([(cx, cy - h), (cx - h, cy + h - 1), (cx + h - 1, cy + h - 1)], fill=fill)


def _background(rng: random.Random) -> np.ndarray:
    """A smooth pastel field, different everywhere, so that patch edges can be matched."""
    axis = np.arange(SIZE, dtype=np.float32) / SIZE
    channels = []
    for _ in range(3):
        field = np.zeros((SIZE, SIZE), dtype=np.float32)
        for _ in range(3):
            fx, fy = rng.uniform(-2.5, 2.5), rng.uniform(-2.5, 2.5)
            amp, phase = rng.uniform(6, 14), rng.uniform(0, 6.3)
            # sin(u + v) = sin u cos v + cos u sin v, as two outer products.
            u, v = 2 * math.pi * fx * axis + phase, 2 * math.pi * fy * axis
            field += amp * (np.outer(np.cos(v), np.sin(u)) + np.outer(np.sin(v), np.cos(u)))
        channels.append(205 + field)
    return np.clip(np.stack(channels, axis=2), 160, 250)


def _derangement(rng: random.Random, k: int) -> list[int]:
    """A patch order in which no two patches that touched in the original still touch."""
    n = k * k
    for _ in range(5000):
        order = list(range(n))
        rng.shuffle(order)
        ok = all(
            not (
                c + 1 < k
                and order[r * k + c + 1] == order[r * k + c] + 1
                and order[r * k + c] % k != k - 1
            )
            and not (r + 1 < k and order[(r + 1) * k + c] == order[r * k + c] + k)
            and order[r * k + c] != r * k + c
            for r in range(k)
            for c in range(k)
        )
        if ok:
            return order
    raise RuntimeError("no shuffle found")  # pragma: no cover - k >= 2 always has one


def draw_reconstruction(
    rng: random.Random, layout: list[tuple[str, str]], *, k: int, noise: float
) -> Image.Image:
    """Shapes in a LAYOUT x LAYOUT grid on a textured field, cut into k x k shuffled patches."""
    image = Image.fromarray(_background(rng).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    cell = SIZE / LAYOUT
    for i, (colour, kind) in enumerate(layout):
        size = rng.uniform(64, 92)
        slack = cell / 2 - size / 2 - 6
        cx = (i % LAYOUT + 0.5) * cell + rng.uniform(-slack, slack)
        cy = (i // LAYOUT + 0.5) * cell + rng.uniform(-slack, slack)
        draw_shape(draw, colour, kind, cx, cy, size)
    pixels = np.asarray(image).astype(np.float32)
    pixels += noise * _np_rng(rng).standard_normal(pixels.shape, dtype=np.float32)
    whole = np.clip(pixels, 0, 255).astype(np.uint8)
    p = SIZE // k
    order = _derangement(rng, k)
    out = np.empty_like(whole)
    for pos, src in enumerate(order):
        r, c, sr, sc = pos // k, pos % k, src // k, src % k
        out[r * p : (r + 1) * p, c * p : (c + 1) * p] = whole[
            sr * p : (sr + 1) * p, sc * p : (sc + 1) * p
        ]
    return Image.fromarray(out)


def recolour_history(
    rng: random.Random, target: str, query: str, n_steps: int
) -> tuple[list[SegmentState], list[tuple[str, str]]]:
    """Segment colourings before and after each recolouring, ending with `target` in `query`.

    Built backwards from the end. Every step changes at least one segment, the last one
    recolours into `query`, and nothing is ever recoloured into the first step's source
    colour, so a picture with that colour gone is visibly one that has been edited.
    """
    colours = list(PALETTE)
    for _ in range(1000):
        others = rng.sample([c for c in colours if c != query], 2)
        state: SegmentState = {
            (d, s): query if s in DIGIT_SEGMENTS[digit] else rng.choice(others)
            for d, digit in enumerate(target)
            for s in SEGMENTS
        }
        states = [state]
        steps: list[tuple[str, str]] = []
        for i in range(n_steps, 0, -1):
            present = set(state.values())
            dst = query if i == n_steps else rng.choice(sorted(present))
            banned = present | {dst} | ({d for _, d in steps} if i == 1 else set())
            free = [c for c in colours if c not in banned]
            if not free:
                break
            src = rng.choice(free)
            holders = [key for key, c in state.items() if c == dst]
            if rng.random() < 0.5 and len(holders) > 1:
                holders = rng.sample(holders, rng.randint(1, len(holders) - 1))
            state = {**state, **{key: src for key in holders}}
            states.append(state)
            steps.append((src, dst))
        else:
            first = {key for key, c in states[-1].items() if c == query}
            last = {key for key, c in states[0].items() if c == query}
            if first != last:
                return states[::-1], steps[::-1]
    raise RuntimeError("no recolouring history found")  # pragma: no cover


def draw_digits(state: SegmentState, n_digits: int) -> Image.Image:
    """Seven-segment digits whose every segment is drawn, in its colour from `state`."""
    width, height, t, gap, space = 52, 104, 9, 2, 36
    image = Image.new("RGB", (SIZE, SIZE // 2), PAPER)
    draw = ImageDraw.Draw(image)
    x0 = (SIZE - (n_digits * width + (n_digits - 1) * space)) // 2
    y = (SIZE // 2 - height) // 2
    mid = y + height // 2
    for d in range(n_digits):
        x = x0 + d * (width + space)
        inner = (x + t + gap, x + width - t - gap - 1)
        boxes = {
            "a": (inner[0], y, inner[1], y + t - 1),
            "g": (inner[0], mid - t // 2, inner[1], mid + t // 2),
            "d": (inner[0], y + height - t, inner[1], y + height - 1),
            "f": (x, y + t + gap, x + t - 1, mid - t // 2 - gap - 1),
            "b": (x + width - t, y + t + gap, x + width - 1, mid - t // 2 - gap - 1),
            "e": (x, mid + t // 2 + gap + 1, x + t - 1, y + height - t - gap - 1),
            "c": (x + width - t, mid + t // 2 + gap + 1, x + width - 1, y + height - t - gap - 1),
        }
        for s, box in boxes.items():
            draw.rectangle(box, fill=PALETTE[state[(d, s)]])
    return image


def draw_focus_scene(
    rng: random.Random,
    colour: str,
    kind: str,
    count: int,
    *,
    n_distractors: int,
    small: int,
    gap: int,
) -> Image.Image:
    """`count` small targets among distractors that share their colour, kind or size."""
    colours = list(PALETTE)
    specs = [(colour, kind, small) for _ in range(count)]
    for _ in range(n_distractors):
        r = rng.random()
        if r < 0.3:
            spec = (colour, kind, rng.randint(32, 44))
        elif r < 0.5:
            spec = (
                colour,
                rng.choice([k for k in SHAPE_KINDS if k != kind]),
                small + rng.randint(-1, 1),
            )
        elif r < 0.7:
            spec = (
                rng.choice([c for c in colours if c != colour]),
                kind,
                small + rng.randint(-1, 1),
            )
        else:
            size = rng.choice((small, rng.randint(32, 44)))
            spec = (rng.choice(colours), rng.choice(SHAPE_KINDS), size)
            if spec[:2] == (colour, kind) and size == small:
                spec = (colour, rng.choice([k for k in SHAPE_KINDS if k != kind]), size)
        specs.append(spec)
    placed: list[tuple[str, str, int, float, float]] = []
    for i, (c, k, size) in enumerate(specs):
        for _ in range(400 if i < count else 60):
            cx, cy = rng.uniform(size, SIZE - size), rng.uniform(size, SIZE - size)
            if all(
                math.hypot(cx - px, cy - py) >= 0.6 * (size + ps) + gap
                for _, _, ps, px, py in placed
            ):
                placed.append((c, k, size, cx, cy))
                break
        else:
            if i < count:
                raise RuntimeError("could not place a target")  # pragma: no cover
    rng.shuffle(placed)
    image = Image.new("RGB", (SIZE, SIZE), PAPER)
    draw = ImageDraw.Draw(image)
    for c, k, size, cx, cy in placed:
        draw_shape(draw, c, k, cx, cy, size)
    return image


@dataclass(frozen=True)
class Maze:
    """A drawn maze: open passages, the start, the exits and the one path that leads out."""

    n: int
    open_right: frozenset[Cell]
    """Cells whose east wall is open."""
    open_down: frozenset[Cell]
    """Cells whose south wall is open."""
    start: Cell
    exits: dict[str, Cell]
    exit_colour: str
    path: tuple[Cell, ...]
    turns: int


def _neighbours(cell: Cell, n: int, right: set[Cell], down: set[Cell]) -> list[Cell]:
    r, c = cell
    out = []
    if (r, c) in right:
        out.append((r, c + 1))
    if (r, c - 1) in right:
        out.append((r, c - 1))
    if (r, c) in down:
        out.append((r + 1, c))
    if (r - 1, c) in down:
        out.append((r - 1, c))
    return out


def _tree_path(
    start: Cell, goal: Cell, n: int, right: set[Cell], down: set[Cell]
) -> list[Cell] | None:
    parent: dict[Cell, Cell | None] = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        for nxt in _neighbours(cell, n, right, down):
            if nxt not in parent:
                parent[nxt] = cell
                queue.append(nxt)
    if goal not in parent:
        return None
    path = [goal]
    while (prev := parent[path[-1]]) is not None:
        path.append(prev)
    return path[::-1]


def _cut(a: Cell, b: Cell, right: set[Cell], down: set[Cell]) -> None:
    (r1, c1), (r2, c2) = sorted((a, b))
    (right if r1 == r2 else down).discard((r1, c1))


def turns_of(path: list[Cell] | tuple[Cell, ...]) -> int:
    """How many times a cell path changes direction."""
    steps = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(path, path[1:], strict=False)]
    return sum(1 for s, t in zip(steps, steps[1:], strict=False) if s != t)


def maze_layout(rng: random.Random, n: int) -> Maze:
    """A random n x n maze with one exit per side, of which only one is reachable from start."""
    while True:
        right: set[Cell] = set()
        down: set[Cell] = set()
        seen = {(0, 0)}
        stack = [(0, 0)]
        while stack:
            r, c = stack[-1]
            options = [
                (r + dr, c + dc)
                for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0))
                if 0 <= r + dr < n and 0 <= c + dc < n and (r + dr, c + dc) not in seen
            ]
            if not options:
                stack.pop()
                continue
            nxt = rng.choice(options)
            (r1, c1), _ = sorted(((r, c), nxt))
            (right if r1 == nxt[0] == r else down).add((r1, c1))
            seen.add(nxt)
            stack.append(nxt)
        sides = [
            (0, rng.randint(1, n - 2)),
            (n - 1, rng.randint(1, n - 2)),
            (rng.randint(1, n - 2), 0),
            (rng.randint(1, n - 2), n - 1),
        ]
        colours = list(EXIT_COLOURS)
        rng.shuffle(colours)
        exits = dict(zip(colours, sides, strict=True))
        start = (rng.randint(1, n - 2), rng.randint(1, n - 2))
        goal_colour = rng.choice(colours)
        path = _tree_path(start, exits[goal_colour], n, right, down)
        if path is None or len(path) - 1 < n // 2 or any(e in path for e in sides if e != path[-1]):
            continue
        on_path = {frozenset(p) for p in zip(path, path[1:], strict=False)}
        for colour, cell in exits.items():
            if colour == goal_colour:
                continue
            other = _tree_path(start, cell, n, right, down)
            if other is None:
                continue
            edges = [e for e in zip(other, other[1:], strict=False) if frozenset(e) not in on_path]
            _cut(*rng.choice(edges), right, down)
        return Maze(
            n,
            frozenset(right),
            frozenset(down),
            start,
            exits,
            goal_colour,
            tuple(path),
            turns_of(path),
        )


def draw_maze(maze: Maze) -> Image.Image:
    """Walls in dark grey, exits as filled cells with a gap in the outer wall, a green start."""
    n = maze.n
    cell = (SIZE - 24) // n
    o = (SIZE - n * cell) // 2
    image = Image.new("RGB", (SIZE, SIZE), PAPER)
    draw = ImageDraw.Draw(image)

    def line(x0: int, y0: int, x1: int, y1: int) -> None:
        draw.rectangle((x0 - 2, y0 - 2, x1 + 1, y1 + 1), fill=WALL)

    exit_cells = set(maze.exits.values())
    for r in range(n):
        for c in range(n):
            x, y = o + c * cell, o + r * cell
            if (
                c == n - 1
                and (r, c) not in exit_cells
                or c < n - 1
                and (r, c) not in maze.open_right
            ):
                line(x + cell, y, x + cell, y + cell)
            if (
                r == n - 1
                and (r, c) not in exit_cells
                or r < n - 1
                and (r, c) not in maze.open_down
            ):
                line(x, y + cell, x + cell, y + cell)
            if c == 0 and (r, c) not in exit_cells:
                line(x, y, x, y + cell)
            if r == 0 and (r, c) not in exit_cells:
                line(x, y, x + cell, y)
    for i in range(n + 1):
        for j in range(n + 1):
            line(o + i * cell, o + j * cell, o + i * cell, o + j * cell)
    for colour, (r, c) in maze.exits.items():
        x, y = o + c * cell, o + r * cell
        draw.rectangle((x + 3, y + 3, x + cell - 4, y + cell - 4), fill=PALETTE[colour])
    r, c = maze.start
    cx, cy, rad = o + (c + 0.5) * cell, o + (r + 0.5) * cell, 0.3 * cell
    draw.ellipse((cx - rad, cy - rad, cx + rad, cy + rad), fill=PALETTE[START_COLOUR])
    return image
