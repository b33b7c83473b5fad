"""GEU generators of the synthetic suite: one image and a four-option question per item.

Difficulty works only through the content: more jigsaw patches and noise, more recolouring
steps, more clutter and smaller targets, larger mazes with narrower corridors. The right
option's position is uniform because the four options are shuffled with the item's `rng`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image

from composer.synthetic.suite.geu_scenes import (
    draw_digits,
    draw_focus_scene,
    draw_maze,
    draw_reconstruction,
    maze_layout,
    recolour_history,
)
from composer.synthetic.vocab import (
    DIGIT_SEGMENTS,
    DIRECTIONS,
    EXIT_COLOURS,
    LAYOUT,
    PALETTE,
    POSITIONS,
    SHAPE_KINDS,
    shape_name,
)

LEVEL_INDEX = {"easy": 0, "medium": 1, "hard": 2}


@dataclass(frozen=True)
class GEUItem:
    """One generated GEU item: an image and a question with four options."""

    image: Image.Image
    question: str
    options: tuple[str, ...]
    """Exactly four option texts, without letters."""
    answer: int
    """Index (0-3) of the right option."""
    subtask: str


def _finish(
    rng: random.Random, image: Image.Image, question: str, right: str, wrong: list[str], sub: str
) -> GEUItem:
    """Shuffle the right option among three distinct wrong ones."""
    distinct = [w for i, w in enumerate(wrong) if w != right and w not in wrong[:i]]
    if len(distinct) < 3:
        raise ValueError(f"need three distinct wrong options, got {distinct!r}")
    options = [right, *distinct[:3]]
    rng.shuffle(options)
    return GEUItem(image, question, tuple(options), options.index(right), sub)


def _counts(rng: random.Random, right: int) -> list[str]:
    """Three wrong counts near the right one."""
    near = [v for v in range(max(0, right - 3), right + 4) if v != right]
    return [str(v) for v in rng.sample(near, 3)]


def mental_reconstruction(rng: random.Random, level: str) -> GEUItem:
    """Shapes in a 3 x 3 layout on a textured background, cut into k x k shuffled patches."""
    k = (2, 3, 4)[LEVEL_INDEX[level]]
    combos = [(c, s) for c in PALETTE for s in SHAPE_KINDS]
    layout = rng.sample(combos, LAYOUT * LAYOUT)
    names = [shape_name(c, s) for c, s in layout]
    image = draw_reconstruction(rng, layout, k=k, noise=(3.0, 5.0, 8.0)[LEVEL_INDEX[level]])
    head = "The image was cut into square patches that were then shuffled."
    if rng.random() < 0.5:
        cell = rng.randrange(LAYOUT * LAYOUT)
        question = (
            f"{head} In the original image, which shape is in the {POSITIONS[cell]} position "
            f"of the 3 x 3 arrangement of shapes?"
        )
        subtask = "layout_position"
    else:
        pairs = [
            (cell, rel)
            for cell in range(LAYOUT * LAYOUT)
            for rel, (dr, dc) in DIRECTIONS.items()
            if 0 <= cell // LAYOUT + dr < LAYOUT and 0 <= cell % LAYOUT + dc < LAYOUT
        ]
        ref, rel = rng.choice(pairs)
        dr, dc = DIRECTIONS[rel]
        cell = (ref // LAYOUT + dr) * LAYOUT + ref % LAYOUT + dc
        question = f"{head} In the original image, which shape is directly {rel} the {names[ref]}?"
        subtask = "relative_position"
    wrong = rng.sample([n for i, n in enumerate(names) if i != cell], 3)
    return _finish(rng, image, question, names[cell], wrong, subtask)


def _decode(segments: frozenset[str]) -> str:
    exact = [d for d, s in DIGIT_SEGMENTS.items() if s == segments]
    if exact:
        return exact[0]
    return min(DIGIT_SEGMENTS, key=lambda d: (len(DIGIT_SEGMENTS[d] ^ segments), d))


def mental_tracking(rng: random.Random, level: str) -> GEUItem:
    """Seven-segment digits of coloured segments and a chain of recolourings to apply."""
    n_digits = (2, 3, 4)[LEVEL_INDEX[level]]
    n_steps = rng.choice(((1, 2), (3,), (4, 5, 6))[LEVEL_INDEX[level]])
    target = "".join(rng.choice("0123456789") for _ in range(n_digits))
    query = rng.choice(list(PALETTE))
    states, steps = recolour_history(rng, target, query, n_steps)
    image = draw_digits(states[0], n_digits)
    phrases = [f"recolour every {src} segment {dst}" for src, dst in steps]
    instructions = ", then ".join(phrases)
    question = (
        f"The image shows {n_digits} digits drawn as seven-segment figures with coloured "
        f"segments. {instructions[0].upper()}{instructions[1:]}. Which digits do the {query} "
        f"segments form at the end, read from left to right?"
    )

    def reading(state: dict[tuple[int, str], str]) -> str:
        return "".join(
            _decode(frozenset(s for (d, s), c in state.items() if d == i and c == query))
            for i in range(n_digits)
        )

    wrong = [reading(states[0]), reading(states[min(2, n_steps - 1)]), reading(states[1])]
    wrong = [w for w in wrong if w != target]
    while len(set(wrong)) < 3:
        extra = "".join(rng.choice("0123456789") for _ in range(n_digits))
        if extra != target:
            wrong.append(extra)
    return _finish(rng, image, question, target, wrong, "recolouring")


def attentional_focusing(rng: random.Random, level: str) -> GEUItem:
    """Small targets to count among many distractor shapes."""
    i = LEVEL_INDEX[level]
    colour = rng.choice(list(PALETTE))
    kind = rng.choice(SHAPE_KINDS)
    count = rng.randint(*((1, 4), (2, 6), (3, 8))[i])
    image = draw_focus_scene(
        rng,
        colour,
        kind,
        count,
        n_distractors=(14, 30, 48)[i],
        small=(18, 14, 11)[i],
        gap=(8, 3, -3)[i],
    )
    question = f"How many small {colour} {kind}s are there in the image?"
    return _finish(rng, image, question, str(count), _counts(rng, count), "counting")


def cognitive_navigation(rng: random.Random, level: str) -> GEUItem:
    """A maze with a green start disc and four coloured exits, one reachable."""
    n = (5, 8, 11)[LEVEL_INDEX[level]]
    maze = maze_layout(rng, n)
    image = draw_maze(maze)
    head = "The image shows a maze with a green start disc and four exits marked by coloured cells."
    if rng.random() < 0.6:
        question = (
            f"{head} Following the open corridors from the green start, which exit do you reach?"
        )
        right = maze.exit_colour
        wrong = [c for c in EXIT_COLOURS if c != right]
        return _finish(rng, image, question, right, wrong, "exit")
    question = (
        f"{head} Following the open corridors from the green start to the exit it leads to, "
        f"how many turns does the path make?"
    )
    return _finish(rng, image, question, str(maze.turns), _counts(rng, maze.turns), "turns")


_MAKERS = {
    "mental_reconstruction": mental_reconstruction,
    "mental_tracking": mental_tracking,
    "attentional_focusing": attentional_focusing,
    "cognitive_navigation": cognitive_navigation,
}


def make_item(category: str, rng: random.Random, level: str) -> GEUItem:
    """Generate one GEU item of `category` at `level` (easy, medium or hard) from `rng`.

    Example:
        >>> item = make_item("mental_tracking", random.Random(0), "easy")
        >>> len(item.options), 0 <= item.answer < 4
        (4, True)
    """
    if category not in _MAKERS:
        raise ValueError(f"unknown GEU category {category!r}; use one of {', '.join(_MAKERS)}")
    if level not in LEVEL_INDEX:
        raise ValueError(f"unknown level {level!r}; use easy, medium or hard")
    return _MAKERS[category](rng, level)
