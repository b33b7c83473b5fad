"""Synthetic UEG items for logic, science and code, and the checks every item gets."""

from __future__ import annotations

import itertools
import operator
import random
from collections.abc import Callable
from functools import partial

from composer.synthetic.suite import ueg_facts as facts
from composer.synthetic.vocab import (
    COLOURS,
    ORDINALS,
    SHAPES,
    Group,
    Scene,
    article,
    q_any,
    q_count,
    q_left_of,
    q_position,
)

Item = tuple[str, list[tuple[str, str]], str]
Obj = tuple[str, str]


def checks_for(
    scene: Scene, rng: random.Random, distractors: list[str], *, must_lack: bool = False
) -> list[tuple[str, str]]:
    """Count checks for every group (yes) and one or two checks expected 'no'.

    `must_lack` always asks about the first distractor colour the scene lacks (for prompts that
    name other colours which must not appear).
    """
    checks = [(q_count(g.count, g.colour, g.shape), "yes") for g in scene.groups]
    used = {g.colour for g in scene.groups}
    absent = [c for c in distractors if c not in used]
    group = rng.choice(scene.groups)
    wrong = group.count + 1 if group.count < 2 or rng.random() < 0.5 else group.count - 1
    options = [(q_count(wrong, group.colour, group.shape), "no")]
    if absent:
        options.append((q_any(absent[0]), "no"))
    rng.shuffle(options)
    if must_lack and absent:
        options.sort(key=lambda c: not c[0].startswith("Is there any"))
    n_no = 2 if len(checks) <= 3 and len(options) > 1 and rng.random() < 0.5 else 1
    return checks + options[:n_no]


def _objects(rng: random.Random, n: int) -> list[Obj]:
    return list(
        zip(rng.sample(list(COLOURS), n), [rng.choice(SHAPES) for _ in range(n)], strict=True)
    )


def _name(obj: Obj) -> str:
    return f"{obj[0]} {obj[1]}"


Rule = tuple[str, Callable[[dict[Obj, int]], bool]]


def _row_rules(order: list[Obj], rng: random.Random, *, unusual: bool) -> list[Rule]:
    n = len(order)
    rules: list[Rule] = []
    for x, y in itertools.permutations(order, 2):
        a, b = _name(x), _name(y)

        def rel(
            test: Callable[[int, int], bool], x: Obj = x, y: Obj = y
        ) -> Callable[[dict[Obj, int]], bool]:
            return lambda w: test(w[x], w[y])

        candidates: list[Rule] = [
            (f"The {a} is somewhere to the left of the {b}.", rel(lambda p, q: p < q)),
            (f"The {a} is somewhere to the right of the {b}.", rel(lambda p, q: p > q)),
            (f"The {a} is directly to the left of the {b}.", rel(lambda p, q: p + 1 == q)),
            (f"The {a} is next to the {b}.", rel(lambda p, q: abs(p - q) == 1)),
        ]
        if unusual:
            candidates += [
                (f"The {a} is not next to the {b}.", rel(lambda p, q: abs(p - q) != 1)),
                (
                    f"Exactly one shape stands between the {a} and the {b}.",
                    rel(lambda p, q: abs(p - q) == 2),
                ),
            ]
        rules += candidates
    for x in order:
        a = _name(x)

        def at(test: Callable[[int], bool], x: Obj = x) -> Callable[[dict[Obj, int]], bool]:
            return lambda w: test(w[x])

        rules += [
            (f"The {a} is at the left end.", at(lambda p: p == 0)),
            (f"The {a} is at the right end.", at(lambda p: p == n - 1)),
            (f"The {a} is not at either end.", at(lambda p: 0 < p < n - 1)),
        ]
        if unusual:
            rules += [
                (
                    f"The {a} is the {ORDINALS[n - 1 - order.index(x)]} shape from the right.",
                    at(partial(operator.eq, order.index(x))),
                )
            ]
    truth = {obj: i for i, obj in enumerate(order)}
    true_rules = [r for r in rules if r[1](truth)]
    rng.shuffle(true_rules)
    odd = [r for r in true_rules if "between" in r[0] or "not next" in r[0] or "right." in r[0]]
    true_rules = [r for r in true_rules if r not in odd]
    # Hard items lead with one or two unusual wordings, so the row leans on them.
    return odd[: rng.choice((1, 2))] + true_rules


def logical_item(rng: random.Random, level: str) -> Item:
    """A row of shapes fixed by ordering constraints (a unique arrangement)."""
    n = {"easy": 3, "medium": 4, "hard": rng.choice((5, 6))}[level]
    order = _objects(rng, n)
    mention = order[:]
    while mention == order:
        rng.shuffle(mention)
    perms = [dict(zip(p, range(n), strict=True)) for p in itertools.permutations(order)]
    chosen: list[str] = []
    for text, test in _row_rules(order, rng, unusual=level == "hard"):
        kept = [w for w in perms if test(w)]
        if len(kept) < len(perms):
            perms = kept
            chosen.append(text)
        if len(perms) == 1:
            break
    rng.shuffle(chosen)
    listed = [f"{article(c)} {c} {s}" for c, s in mention]
    head = f"Draw {', '.join(listed[:-1])} and {listed[-1]} in one row."
    prompt = " ".join([head, *chosen])
    positions = rng.sample(range(n), 2)
    checks = [(q_position(i, order[i]), "yes") for i in sorted(positions)]
    x, y = rng.sample(order, 2)
    checks.append((q_left_of(x, y), "yes" if order.index(x) < order.index(y) else "no"))
    k = rng.randrange(n)
    wrong = rng.choice([o for o in order if o != order[k]])
    checks.append((q_position(k, wrong), "no"))
    return prompt, checks, f"row_of_{n}"


def _pick_items(
    pool: list[tuple[str, bool, bool]], rng: random.Random, n: int, p_rare: float
) -> list[tuple[str, bool]]:
    common = [(t, v) for t, v, c in pool if c]
    rare = [(t, v) for t, v, c in pool if not c]
    n_rare = sum(rng.random() < p_rare for _ in range(n)) if rare else 0
    return rng.sample(rare, min(n_rare, len(rare))) + rng.sample(common, n - min(n_rare, len(rare)))


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def scientific_item(rng: random.Random, level: str) -> tuple[str, Scene, list[str], str]:
    """Litmus, water phases, colour mixing, magnets, floating: a rule decides the scene."""
    subtasks = {
        "easy": ["litmus", "phase", "mixing"],
        "medium": ["phase", "magnet", "floating", "litmus"],
        "hard": ["phase", "magnet", "floating", "mixing", "litmus"],
    }[level]
    subtask = rng.choice(subtasks)
    p_rare = {"easy": 0.0, "medium": 0.03, "hard": 0.1}[level]
    p_special = 0.35 if level == "hard" else 0.0
    colours = rng.sample([c for c in COLOURS if c not in ("red", "blue")], 3)
    shapes = rng.sample(list(SHAPES), 3)
    n = rng.randint(2, 5)
    if subtask == "litmus":
        paper = rng.choice(("red", "blue"))
        is_acid = rng.random() < 0.5
        pool = facts.ACIDS if is_acid else facts.BASES
        rare = [s for s, c in pool if not c]
        substance = rng.choice(rare if rng.random() < p_special else [s for s, c in pool if c])
        colour = "red" if is_acid else "blue"
        prompt = (
            f"A strip of {paper} litmus paper is dipped into {substance}. Draw {n} {shapes[0]}s "
            "in the colour the strip shows afterwards."
        )
        other = "blue" if colour == "red" else "red"
        return prompt, Scene((Group(n, colour, shapes[0]),)), [other], subtask
    if subtask == "phase":
        branches = {
            "liquid": Group(rng.randint(2, 5), "blue", shapes[0]),
            "solid": Group(rng.randint(2, 5), colours[0], shapes[1]),
            "gas": Group(rng.randint(2, 5), colours[1], shapes[2]),
        }
        everest = rng.random() < p_special
        phase = rng.choice(list(branches))
        if everest:
            phase, celsius, place = "gas", rng.randint(75, 95), "at the summit of Mount Everest"
        else:
            celsius = {"liquid": rng.randint(5, 95), "solid": rng.randint(-30, -5)}.get(
                phase, rng.randint(105, 180)
            )
            place = "at sea level"
        fahrenheit = level != "easy" and rng.random() < 0.5 and not everest
        temperature = (
            f"{round(celsius * 9 / 5 + 32)} degrees Fahrenheit"
            if fahrenheit
            else (f"{celsius} degrees Celsius")
        )
        lines = {k: f"draw {g.count} {g.colour} {g.shape}s" for k, g in branches.items()}
        prompt = (
            f"A beaker of pure water is left at {temperature} {place}. If the water is liquid, "
            f"{lines['liquid']}; if it is frozen, {lines['solid']}; if it has boiled into steam, "
            f"{lines['gas']}."
        )
        others = [g.colour for k, g in branches.items() if k != phase]
        return prompt, Scene((branches[phase],)), others, subtask
    if subtask == "mixing":
        light = rng.random() < p_special
        first, second, colour = rng.choice(facts.LIGHT if light else facts.PAINT)
        if light:
            source = f"Shine a {first} light and a {second} light on the same spot of a white wall"
        else:
            source = f"Mix equal amounts of {first} and {second} paint"
        prompt = f"{source}. Draw {n} {shapes[0]}s in the colour of the result."
        return prompt, Scene((Group(n, colour, shapes[0]),)), [first, "brown"], subtask
    if subtask == "magnet":
        size = {"medium": rng.randint(3, 5), "hard": rng.randint(5, 7)}.get(level, 3)
        while True:
            items = _pick_items(facts.MAGNET_ITEMS, rng, size, p_rare)
            count = sum(v for _, v in items)
            if 2 <= count < size:
                break
        rng.shuffle(items)
        prompt = (
            f"A magnet is passed over {_listing([t for t, _ in items])}. Draw one {colours[0]} "
            f"{shapes[0]} for each item the magnet picks up."
        )
        return prompt, Scene((Group(count, colours[0], shapes[0]),)), colours[1:], subtask
    size = {"medium": rng.randint(3, 5), "hard": rng.randint(5, 7)}.get(level, 3)
    while True:
        items = _pick_items(facts.WATER_ITEMS, rng, size, p_rare)
        floats = sum(v for _, v in items)
        if 1 <= floats < size and max(floats, size - floats) >= 2:
            break
    rng.shuffle(items)
    listed = _listing([t for t, _ in items])
    prompt = (
        f"{listed[0].upper()}{listed[1:]} are dropped into a tub of fresh water. Draw one "
        f"{colours[0]} {shapes[0]} for each item that floats and one {colours[1]} {shapes[1]} for "
        "each item that sinks."
    )
    scene = Scene(
        (Group(floats, colours[0], shapes[0]), Group(size - floats, colours[1], shapes[1]))
    )
    return prompt, scene, [colours[2]], "floating"


_SCATTERED_HEAD = (
    "Run this Python program in your head and draw what it prints: each printed line gives how "
    "many shapes to draw, their colour and their kind."
)
_ROW_HEAD = (
    "Run this Python program in your head and draw one shape for each line it prints, in one "
    "row from left to right in the order printed."
)


def code_item(rng: random.Random, level: str) -> Item:
    """A short program whose printed output says what to draw."""
    colours = rng.sample(list(COLOURS), 3)
    shapes = rng.sample(list(SHAPES), 3)
    if level == "medium" and rng.random() < 0.5:
        return _code_row(rng, colours, shapes)
    groups: list[Group] = []
    if level == "easy":
        a, b = rng.randint(2, 5), rng.randint(1, 4)
        op, value = rng.choice([("+", a + b), ("*", a * b), ("-", a - b)])
        if value < 2 or value > 10:
            op, value = "+", a + b
        code = f'a = {a}\nb = {b}\nprint(a {op} b, "{colours[0]} {shapes[0]}s")\n'
        groups.append(Group(value, colours[0], shapes[0]))
    elif level == "medium":
        n, m, k = rng.randint(6, 12), rng.randint(2, 3), rng.randint(1, 3)
        count = len(range(0, n, m))
        code = (
            f"count = 0\nfor i in range({n}):\n    if i % {m} == 0:\n        count = count + 1\n"
            f'print(count, "{colours[0]} {shapes[0]}s")\n'
            f'print(count - {k}, "{colours[1]} {shapes[1]}s")\n'
        )
        groups += [Group(count, colours[0], shapes[0]), Group(count - k, colours[1], shapes[1])]
    else:
        steps, mul, mod = rng.randint(40, 900), rng.randint(3, 9), rng.choice((5, 7))
        start = rng.randint(1, 9)
        total = start
        for i in range(steps):
            total = (total * mul + i) % mod
        extra = rng.randint(2, 4)
        code = (
            f"total = {start}\nfor i in range({steps}):\n    total = (total * {mul} + i) % {mod}\n"
            f'print(total + 2, "{colours[0]} {shapes[0]}s")\n'
            f'items = ["{colours[1]}", "{colours[2]}"]\n'
            f'print({extra}, items[total % 2], "{shapes[1]}s")\n'
        )
        groups += [
            Group(total + 2, colours[0], shapes[0]),
            Group(extra, colours[1 + total % 2], shapes[1]),
        ]
    groups = [g for g in groups if g.count > 0]
    prompt = f"{_SCATTERED_HEAD}\n```python\n{code}```"
    distractors = [c for c in COLOURS if c not in colours] + colours
    checks = checks_for(Scene(tuple(groups)), rng, distractors)
    return prompt, checks, {"easy": "arithmetic", "medium": "loop", "hard": "long_loop"}[level]


def _code_row(rng: random.Random, colours: list[str], shapes: list[str]) -> Item:
    n, step = rng.randint(3, 5), rng.choice((1, 2))
    code = (
        f'colours = ["{colours[0]}", "{colours[1]}", "{colours[2]}"]\n'
        f'shapes = ["{shapes[0]}", "{shapes[1]}", "{shapes[2]}"]\n'
        f"for i in range({n}):\n    print(colours[(i * {step}) % 3], shapes[(i + 1) % 3])\n"
    )
    order = [(colours[(i * step) % 3], shapes[(i + 1) % 3]) for i in range(n)]
    prompt = f"{_ROW_HEAD}\n```python\n{code}```"
    picks = sorted(rng.sample(range(n), 2))
    checks = [(q_position(i, order[i]), "yes") for i in picks]
    k = rng.randrange(n)
    wrong = rng.choice([o for o in itertools.product(colours, shapes) if o != order[k]])
    checks += [(q_position(k, wrong), "no"), (q_count(n), "yes")]
    return prompt, checks, "printed_row"
