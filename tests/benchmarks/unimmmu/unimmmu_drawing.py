"""Tiny Uni-MMMU frames drawn with PIL in the release's palettes, for the scorer tests.

Maze: a 6x6 board of floor (#f4efe6) and wall (#1f2937) cells on white, the start a blue
(#2563eb) dot, the goal a green (#22c55e) frame inside its cell, as the release's scorer
expects to find them. Sliding: a 3x3 board of Set1 tiles on white, red (#e41a1c) the empty one.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from composer.benchmarks.unimmmu.grids import MAZE_PALETTE, SET1_9

CELL = 20
MARGIN = 0
"""White border around a board; the release's boards fill their image (see test_grids)."""

MAZE = [
    "######",
    "#    #",
    "# ## #",
    "#  # #",
    "## # #",
    "######",
]
"""Walls ('#') and floor (' ') of the test maze; the start and goal are drawn on top."""


def maze_image(
    start: tuple[int, int] | None,
    goal: tuple[int, int] | None,
    *,
    walls: list[str] = MAZE,
    dot_radius: int = 6,
    frame_width: int = 4,
    margin: int = MARGIN,
) -> Image.Image:
    """A maze frame: walls, floor, the goal frame and the start dot, `margin` px of white around."""
    size = 2 * margin + 6 * CELL
    image = Image.new("RGB", (size, size), MAZE_PALETTE["white"])
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(walls):
        for c, cell in enumerate(row):
            x, y = margin + c * CELL, margin + r * CELL
            colour = MAZE_PALETTE["wall"] if cell == "#" else MAZE_PALETTE["floor"]
            draw.rectangle([x, y, x + CELL - 1, y + CELL - 1], fill=colour)
    if goal is not None:
        x, y = margin + goal[1] * CELL, margin + goal[0] * CELL
        draw.rectangle(
            [x, y, x + CELL - 1, y + CELL - 1], outline=MAZE_PALETTE["goal"], width=frame_width
        )
    if start is not None:
        cx, cy = margin + start[1] * CELL + CELL // 2, margin + start[0] * CELL + CELL // 2
        box = [cx - dot_radius, cy - dot_radius, cx + dot_radius - 1, cy + dot_radius - 1]
        draw.ellipse(box, fill=MAZE_PALETTE["start"])
    return image


def sliding_image(
    tiles: list[list[int]], *, cell: int = 30, split: tuple[int, int] | None = None
) -> Image.Image:
    """A sliding frame: tile k (1-9) is Set1 colour k-1; `split` paints half a cell colour 9."""
    size = 2 * MARGIN + 3 * cell
    image = Image.new("RGB", (size, size), "#ffffff")
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            x, y = MARGIN + c * cell, MARGIN + r * cell
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=SET1_9[tile - 1])
    if split is not None:
        x, y = MARGIN + split[1] * cell, MARGIN + split[0] * cell
        draw.rectangle([x, y, x + cell // 2 - 1, y + cell - 1], fill=SET1_9[8])
    return image


def save(image: Image.Image, path: Path) -> Path:
    """Save `image` as PNG at `path` (folders made) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
