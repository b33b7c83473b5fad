"""The symbolic reasoner's UEG thinking: turn a prompt that needs reasoning into a scene.

It reads the prompt sentence by sentence and really computes: looks facts up in its own table
(`ueg_knowledge`), evaluates arithmetic, solves count equations, searches the arrangements of a
row for the one every ordering constraint allows, applies science rules, and runs code in the
restricted evaluator. A `Mind` decides whether a step slips: never for the reasoner, now and
then for the naive unified model (deterministically, from a hash of the prompt), which then
makes a typical mistake such as copying a literal number or skipping a step.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable

from composer.synthetic.symbolic import ueg_knowledge as kb
from composer.synthetic.symbolic.ueg_code import SnippetError, run_snippet
from composer.synthetic.vocab import COLOURS, ORDINALS, SHAPES, Group, Scene

NAIVE_SLIP_RATE = 0.22
"""How often one reasoning step of the naive unified model goes wrong."""

NAIVE_MAX_STEPS = 2500
"""The naive model's patience when it runs code in its head, in evaluator steps."""


class ReasoningError(Exception):
    """The reasoner could not turn the prompt into a scene; the message says why."""


class Mind:
    """Decides, deterministically per prompt, whether each reasoning step slips."""

    def __init__(self, prompt: str, *, naive: bool, salt: str = "") -> None:
        self.key = f"{salt}/{prompt}"
        self.naive = naive
        self.steps = 0

    def slips(self) -> bool:
        """Whether the next step goes wrong (always False for the reasoner)."""
        self.steps += 1
        if not self.naive:
            return False
        digest = hashlib.sha256(f"{self.key}/{self.steps}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < NAIVE_SLIP_RATE


_C = "|".join(COLOURS)
_S = "|".join(SHAPES)
_RATIOS = {"twice": 2.0, "three times": 3.0, "half": 0.5}
_FENCE = re.compile(r"```(?:python)?\n(.*?)```", re.S)


def solve(prompt: str, mind: Mind) -> Scene:
    """Work out the scene `prompt` asks for.

    Raises:
        ReasoningError: if the prompt cannot be understood or its code cannot be run.
    """
    code = _FENCE.search(prompt)
    if code is not None:
        return _solve_code(prompt, code.group(1), mind)
    text = " ".join(prompt.split())
    sentences = [s.strip() for s in re.split(r"(?<=[.;])\s+", text) if s.strip()]
    for solver in (_solve_row, _solve_science, _solve_counts):
        scene = solver(sentences, mind)
        if scene is not None:
            return scene
    raise ReasoningError("I could not work out what to draw.")


def _solve_code(prompt: str, code: str, mind: Mind) -> Scene:
    budget = NAIVE_MAX_STEPS if mind.naive else None
    try:
        lines = run_snippet(code) if budget is None else run_snippet(code, max_steps=budget)
    except SnippetError as exc:
        raise ReasoningError(f"I cannot run this code: {exc}.") from None
    literals = [int(n) for n in re.findall(r"(?<![\w.])\d+(?![\w.])", code)]
    in_row = "in one row" in prompt
    groups: list[Group] = []
    for line in lines:
        words = line.strip().lower().split()
        if len(words) == 2 and words[0] in COLOURS and words[1] in SHAPES:
            groups.append(Group(1, words[0], words[1]))
            continue
        if len(words) == 3 and words[1] in COLOURS and words[2].rstrip("s") in SHAPES:
            count = int(words[0]) if words[0].lstrip("-").isdigit() else 0
            if mind.slips() and literals:
                count = literals[0]
            if count > 0:
                groups.append(Group(count, words[1], words[2].rstrip("s")))
            continue
        raise ReasoningError(f"I cannot draw the printed line {line!r}.")
    return Scene(tuple(groups), in_row=in_row)


_OBJECT = re.compile(rf"^an? ({_C}) ({_S})$")
_ROW_CONSTRAINTS: dict[str, Callable[[int, int, int], bool]] = {
    rf"^The ({_C}) ({_S}) is somewhere to the left of the ({_C}) ({_S})\.$": lambda a, b, n: a < b,
    rf"^The ({_C}) ({_S}) is somewhere to the right of the ({_C}) ({_S})\.$": lambda a, b, n: a > b,
    rf"^The ({_C}) ({_S}) is directly to the left of the ({_C}) ({_S})\.$": (
        lambda a, b, n: a + 1 == b
    ),
    rf"^The ({_C}) ({_S}) is directly to the right of the ({_C}) ({_S})\.$": (
        lambda a, b, n: a == b + 1
    ),
    rf"^The ({_C}) ({_S}) is next to the ({_C}) ({_S})\.$": lambda a, b, n: abs(a - b) == 1,
    rf"^The ({_C}) ({_S}) is at the left end\.$": lambda a, b, n: a == 0,
    rf"^The ({_C}) ({_S}) is at the right end\.$": lambda a, b, n: a == n - 1,
    rf"^The ({_C}) ({_S}) is not at either end\.$": lambda a, b, n: 0 < a < n - 1,
    rf"^The ({_C}) ({_S}) is the ({'|'.join(ORDINALS)}) shape from the left\.$": (
        lambda a, b, n: a == b
    ),
}


def _solve_row(sentences: list[str], mind: Mind) -> Scene | None:
    head = re.match(r"^Draw (.+) in one row\.$", sentences[0]) if sentences else None
    if head is None:
        return None
    parts = re.split(r", | and ", head.group(1))
    objects: list[tuple[str, str]] = []
    for part in parts:
        found = _OBJECT.match(part.strip())
        if found is None:
            return None
        objects.append((found.group(1), found.group(2)))
    rules: list[Callable[[dict[int, int]], bool]] = []
    n = len(objects)
    for sentence in sentences[1:]:
        for pattern, test in _ROW_CONSTRAINTS.items():
            m = re.match(pattern, sentence)
            if m is None:
                continue
            rule = _row_rule(test, m.groups(), objects, n)
            if rule is not None and not mind.slips():
                rules.append(rule)
            break
    solution: tuple[int, ...] = tuple(range(n))
    for order in itertools.permutations(range(n)):
        where = {obj: place for place, obj in enumerate(order)}
        if all(rule(where) for rule in rules):
            solution = order
            break
    groups = tuple(Group(1, *objects[i]) for i in solution)
    return Scene(groups, in_row=True)


def _row_rule(
    test: Callable[[int, int, int], bool],
    g: tuple[str, ...],
    objects: list[tuple[str, str]],
    n: int,
) -> Callable[[dict[int, int]], bool] | None:
    if (g[0], g[1]) not in objects:
        return None
    a = objects.index((g[0], g[1]))
    if len(g) == 4:
        if (g[2], g[3]) not in objects:
            return None
        b = objects.index((g[2], g[3]))
        return lambda where: test(where[a], where[b], n)
    place = ORDINALS.index(g[2]) if len(g) == 3 else 0
    return lambda where: test(where[a], place, n)


def _material_rule(item: str, yes: frozenset[str], no: frozenset[str], default: bool) -> bool:
    words = set(re.findall(r"[a-z-]+", item.lower()))
    if words & yes:
        return True
    if words & no:
        return False
    return default


def _split_items(text: str) -> list[str]:
    return [p.strip() for p in re.split(r", and |, | and ", text) if p.strip()]


def _solve_science(sentences: list[str], mind: Mind) -> Scene | None:
    text = " ".join(sentences)
    m = re.search(
        rf"strip of (red|blue) litmus paper is dipped into (.+?)\. "
        rf"Draw (\d+) ({_S})s in the colour",
        text,
    )
    if m is not None:
        paper, substance = m.group(1), m.group(2).lower()
        colour = "red" if substance in kb.ACIDS else "blue" if substance in kb.BASES else paper
        if mind.slips():
            colour = paper
        return Scene((Group(int(m.group(3)), colour, m.group(4)),))
    m = re.search(r"left at (-?\d+) degrees (Celsius|Fahrenheit)", text)
    if m is not None:
        temp = float(m.group(1))
        if m.group(2) == "Fahrenheit" and not mind.slips():
            temp = (temp - 32) * 5 / 9
        phase = "solid" if temp < kb.FREEZING_C else "gas" if temp > kb.BOILING_C else "liquid"
        branches = {
            "liquid": r"If the water is liquid, draw (\d+) (\w+) (\w+?)s?[;.]",
            "solid": r"if it is frozen, draw (\d+) (\w+) (\w+?)s?[;.]",
            "gas": r"if it has boiled into steam, draw (\d+) (\w+) (\w+?)s?[;.]",
        }
        b = re.search(branches[phase], text)
        if b is None:
            return None
        return Scene((Group(int(b.group(1)), b.group(2), b.group(3)),))
    m = re.search(
        rf"(?:Mix equal amounts of (\w+) and (\w+) paint|Shine an? (\w+) light and an? (\w+) "
        rf"light on the same spot of a white wall)\. Draw (\d+) ({_S})s in the colour",
        text,
    )
    if m is not None:
        pair = frozenset(c for c in m.groups()[:4] if c)
        colour = kb.PAINT_MIXES.get(pair, "brown")
        if mind.slips():
            colour = sorted(pair)[0]
        return Scene((Group(int(m.group(5)), colour, m.group(6)),))
    m = re.search(rf"A magnet is passed over (.+?)\. Draw one ({_C}) ({_S}) for each item", text)
    if m is not None:
        items = _split_items(m.group(1))
        count = sum(
            _material_rule(i, kb.MAGNETIC, kb.NON_MAGNETIC, False) != mind.slips() for i in items
        )
        return Scene((Group(count, m.group(2), m.group(3)),))
    m = re.search(
        rf"^(.+?) are dropped into a tub of fresh water\. Draw one ({_C}) ({_S}) for each item "
        rf"that floats and one ({_C}) ({_S}) for each item that sinks",
        text,
    )
    if m is not None:
        items = _split_items(re.sub(r"^(?:An?|The) ", "", m.group(1)))
        floats = sum(_material_rule(i, kb.FLOATS, kb.SINKS, True) != mind.slips() for i in items)
        groups = (
            Group(floats, m.group(2), m.group(3)),
            Group(len(items) - floats, *m.groups()[3:]),
        )
        return Scene(tuple(g for g in groups if g.count > 0))
    return None


def _lookup(table: dict[str, str], key: str, default: str, mind: Mind) -> str:
    value = table.get(key.lower().strip(), default)
    return default if mind.slips() else value


def _fact_count(phrase: str, mind: Mind) -> int:
    total = 0
    for sign, term in re.findall(r"(^|plus |minus )(.+?)(?= plus | minus |$)", phrase):
        value = kb.COUNT_FACTS.get(term.lower().strip(), 4)
        if mind.slips():
            value = 4 if value != 4 else 3
        total += -value if sign == "minus " else value
    return total


def _arith(expression: str, mind: Mind) -> int:
    source = expression.replace("×", "*").replace("÷", "/").replace("−", "-")
    if mind.slips():
        first = re.search(r"\d+", source)
        return int(first.group()) if first else 1
    try:
        lines = run_snippet(f"print({source})", max_steps=200)
    except SnippetError as exc:
        raise ReasoningError(f"I cannot compute {expression!r}: {exc}.") from None
    return int(float(lines[0]))


def _solve_counts(sentences: list[str], mind: Mind) -> Scene | None:
    groups: dict[str, Group] = {}
    for sentence in sentences:
        s = re.sub(r"^Then d", "D", sentence).rstrip(".")
        m = re.match(rf"^Draw as many ({_S}|shape)s as there are (.+?), each (.+)$", s)
        if m is not None:
            count = _fact_count(m.group(2), mind)
            attrs = m.group(3)
            shape = m.group(1)
            a = re.match(r"^shaped like (.+) and the colour of (.+)$", attrs)
            if a is not None:
                shape = _lookup(kb.SHAPE_FACTS, a.group(1), "circle", mind)
                colour = _lookup(kb.COLOUR_FACTS, a.group(2), "black", mind)
            else:
                colour = _lookup(
                    kb.COLOUR_FACTS, attrs.removeprefix("the colour of "), "black", mind
                )
            groups[f"{shape}/{len(groups)}"] = Group(count, colour, shape)
            continue
        m = re.match(rf"^Draw as many ({_C}) ({_S})s as the value of (.+)$", s)
        if m is not None:
            groups[m.group(2)] = Group(_arith(m.group(3), mind), m.group(1), m.group(2))
            continue
        m = re.match(
            rf"^Draw (\d+) ({_C}) ({_S})s? and (twice|three times|half) as many ({_C}) ({_S})s$", s
        )
        if m is not None:
            base = int(m.group(1))
            other = base if mind.slips() else int(base * _RATIOS[m.group(4)])
            groups[m.group(3)] = Group(base, m.group(2), m.group(3))
            groups[m.group(6)] = Group(other, m.group(5), m.group(6))
            continue
        m = re.match(
            rf"^Draw ({_C}) ({_S})s and ({_C}) ({_S})s, (\d+) shapes in all, with "
            rf"(?:(\d+) more|(twice|three times) as many) ({_S})s (?:than|as) ({_S})s$",
            s,
        )
        if m is not None:
            c1, s1, c2, s2, total_s, more, ratio, big, small = m.groups()
            total = int(total_s)
            if mind.slips():
                n_small = total // 2
            elif more is not None:
                n_small = (total - int(more)) // 2
            else:
                n_small = round(total / (1 + _RATIOS[ratio]))
            colours = {s1: c1, s2: c2}
            groups[small] = Group(n_small, colours[small], small)
            groups[big] = Group(total - n_small, colours[big], big)
            continue
        m = re.match(
            rf"^Draw as many ({_C}) ({_S})s as the ({_S})s and ({_S})s together"
            rf"(?:, (plus|minus) (\d+))?$",
            s,
        )
        if m is not None:
            known = [groups[k].count for k in (m.group(3), m.group(4)) if k in groups]
            count = sum(known)
            if m.group(5) and not mind.slips():
                count += int(m.group(6)) * (1 if m.group(5) == "plus" else -1)
            groups[m.group(2)] = Group(count, m.group(1), m.group(2))
            continue
    if not groups:
        return None
    return Scene(tuple(g for g in groups.values() if g.count > 0))
