"""Synthetic UEG items: text-to-image prompts that need reasoning before drawing.

One generator per RealUnify UEG category. Each item is a prompt whose literal words do not name
what to draw (a fact, a sum, an arrangement, a science rule or a program decides it) and 2-5
yes/no verification questions, at least one expected 'no'. Harder levels add objects,
constraints, reasoning steps, uncommon facts and longer programs; nothing in the prompt says
which level it is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from composer.synthetic.suite import ueg_facts as facts
from composer.synthetic.suite.ueg_items import (
    checks_for,
    code_item,
    logical_item,
    scientific_item,
)
from composer.synthetic.vocab import COLOURS, SHAPES, Group, Scene


@dataclass(frozen=True)
class UEGItem:
    """One UEG item: the prompt, its verification checks and a subtask name."""

    prompt: str
    checks: list[tuple[str, str]]
    subtask: str


def make_item(category: str, rng: random.Random, level: str) -> UEGItem:
    """Generate one item of `category` at `level` (easy, medium or hard) from `rng`.

    Example:
        >>> item = make_item("mathematical_reasoning", random.Random(0), "easy")
        >>> any(answer == "no" for _, answer in item.checks)
        True
    """
    if level not in ("easy", "medium", "hard"):
        raise ValueError(f"level must be easy, medium or hard, not {level!r}")
    if category in ("world_knowledge", "commonsense_reasoning"):
        prompt, scene, distractors, subtask = _fact_item(category, rng, level)
    elif category == "mathematical_reasoning":
        prompt, scene, distractors, subtask = _math_item(rng, level)
    elif category == "logical_reasoning":
        return UEGItem(*logical_item(rng, level))
    elif category == "scientific_reasoning":
        prompt, scene, distractors, subtask = scientific_item(rng, level)
        return UEGItem(prompt, checks_for(scene, rng, distractors, must_lack=True), subtask)
    elif category == "code_to_image":
        return UEGItem(*code_item(rng, level))
    else:
        raise ValueError(f"not a UEG category: {category!r}")
    return UEGItem(prompt, checks_for(scene, rng, distractors), subtask)


def _pick(pool: list[tuple[str, int, bool]], rng: random.Random, p_rare: float) -> tuple[str, int]:
    rare = [(p, v) for p, v, common in pool if not common]
    common = [(p, v) for p, v, is_common in pool if is_common]
    return rng.choice(rare if rare and rng.random() < p_rare else common)


def _pick_named(
    pool: list[tuple[str, str, bool]], rng: random.Random, p_rare: float, exclude: set[str]
) -> tuple[str, str]:
    rare = [(p, v) for p, v, common in pool if not common and v not in exclude]
    common = [(p, v) for p, v, is_common in pool if is_common and v not in exclude]
    return rng.choice(rare if rare and rng.random() < p_rare else common)


def _fact_item(category: str, rng: random.Random, level: str) -> tuple[str, Scene, list[str], str]:
    n_groups = {"easy": 1, "medium": 2, "hard": rng.choice((2, 3))}[level]
    p_rare = {"easy": 0.0, "medium": 0.03, "hard": 0.08}[level]
    sentences: list[str] = []
    groups: list[Group] = []
    used_colours: set[str] = set()
    used_shapes: set[str] = set()
    for i in range(n_groups):
        phrase, count = _pick(facts.COUNTS[category], rng, p_rare)
        if level == "hard" and rng.random() < 0.6:
            other, value = _pick(facts.COUNTS[category], rng, p_rare)
            if other != phrase and count + value <= 12 and rng.random() < 0.5:
                phrase, count = f"{phrase} plus {other}", count + value
            elif other != phrase and count - value >= 1:
                phrase, count = f"{phrase} minus {other}", count - value
        colour_phrase, colour = _pick_named(facts.COLOURS[category], rng, p_rare, used_colours)
        shape_indirect = level != "easy" and i > 0 or (level == "hard" and rng.random() < 0.5)
        if shape_indirect:
            shape_phrase, shape = _pick_named(facts.SHAPES[category], rng, p_rare, used_shapes)
            what, attrs = "shapes", f"shaped like {shape_phrase} and the colour of {colour_phrase}"
        else:
            shape = rng.choice([s for s in SHAPES if s not in used_shapes])
            what, attrs = f"{shape}s", f"the colour of {colour_phrase}"
        used_colours.add(colour)
        used_shapes.add(shape)
        lead = "Draw" if i == 0 else "Then draw"
        sentences.append(f"{lead} as many {what} as there are {phrase}, each {attrs}.")
        groups.append(Group(count, colour, shape))
    subtask = "fact_count_colour" if n_groups == 1 else "fact_composition"
    distractors = [c for c in COLOURS if c not in used_colours]
    return " ".join(sentences), Scene(tuple(groups)), distractors, subtask


_WORDS = {2.0: "twice", 3.0: "three times", 0.5: "half"}


def _expression(rng: random.Random, level: str) -> tuple[str, int]:
    while True:
        a, b, c = rng.randint(2, 9), rng.randint(2, 9), rng.randint(2, 5)
        forms = {
            "easy": [(f"{a} + {b}", a + b), (f"{a} × {c}", a * c), (f"{a + b} - {b}", a)],
            "medium": [
                (f"{a} + {b} × {c}", a + b * c),
                (f"({a} + {b}) × {c}", (a + b) * c),
                (f"{a * c} ÷ {c} + {b}", a + b),
            ],
            "hard": [
                (f"({a * c} ÷ {c} + {b}) × 2 - {a}", (a + b) * 2 - a),
                (f"{a} × {c} - {b} + {c} × 2", a * c - b + c * 2),
            ],
        }[level]
        text, value = rng.choice(forms)
        if 2 <= value <= 12:
            return text, value


def _math_item(rng: random.Random, level: str) -> tuple[str, Scene, list[str], str]:
    colours = rng.sample(list(COLOURS), 3)
    shapes = rng.sample(list(SHAPES), 3)
    kind = rng.choice(["expression", "ratio"] if level == "easy" else ["expression", "split"])
    if level == "hard":
        kind = rng.choice(["ratio", "split"])
    groups: list[Group] = []
    if kind == "expression":
        text, value = _expression(rng, level)
        prompt = f"Draw as many {colours[0]} {shapes[0]}s as the value of {text}."
        groups.append(Group(value, colours[0], shapes[0]))
        subtask = "arithmetic"
    elif kind == "ratio":
        word = rng.choice(list(_WORDS.values()))
        factor = next(k for k, v in _WORDS.items() if v == word)
        base = rng.choice((4, 6)) if factor == 0.5 else rng.randint(2, 4)
        prompt = (
            f"Draw {base} {colours[0]} {shapes[0]}s and {word} as many {colours[1]} {shapes[1]}s."
        )
        groups += [
            Group(base, colours[0], shapes[0]),
            Group(int(base * factor), *_cs(colours, shapes, 1)),
        ]
        subtask = "proportion"
    else:
        small = rng.randint(2, 4)
        if rng.random() < 0.5:
            diff = rng.randint(1, 4)
            big, relation = small + diff, f"{diff} more"
            link = "than"
        else:
            factor = rng.choice((2.0, 3.0)) if small <= 3 else 2.0
            big, relation, link = int(small * factor), f"{_WORDS[factor]} as many", "as"
        prompt = (
            f"Draw {colours[0]} {shapes[0]}s and {colours[1]} {shapes[1]}s, {small + big} shapes "
            f"in all, with {relation} {shapes[1]}s {link} {shapes[0]}s."
        )
        groups += [Group(small, colours[0], shapes[0]), Group(big, *_cs(colours, shapes, 1))]
        subtask = "constraint"
    if level == "hard":
        together = groups[0].count + groups[1].count
        k = rng.randint(1, together - 2)
        op, value = rng.choice([("minus", together - k), ("plus", together + k)])
        if value > 10:
            op, value = "minus", together - k
        prompt += (
            f" Then draw as many {colours[2]} {shapes[2]}s as the {shapes[0]}s and {shapes[1]}s "
            f"together, {op} {k}."
        )
        groups.append(Group(value, colours[2], shapes[2]))
        subtask += "_chain"
    distractors = [c for c in COLOURS if c not in colours]
    return prompt, Scene(tuple(groups)), distractors, subtask


def _cs(colours: list[str], shapes: list[str], i: int) -> tuple[str, str]:
    return colours[i], shapes[i]
