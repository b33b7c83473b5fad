"""The UEG half of the synthetic suite and the symbolic specialists that solve it."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from composer.agents.revise import revise_request
from composer.agents.verify import Verdict
from composer.benchmarks.realunify.categories import UEG_CATEGORIES
from composer.benchmarks.realunify.protocol import (
    judge_request,
    parse_yes_no_official,
    refine_request,
)
from composer.core.images import ImageStore
from composer.synthetic.suite.ueg import UEGItem, make_item
from composer.synthetic.symbolic import SymbolicSpecialist, ueg
from composer.synthetic.symbolic.ueg_code import SnippetError, run_snippet
from composer.synthetic.symbolic.ueg_paint import render_scene
from composer.synthetic.symbolic.vocabulary import NotUnderstood
from composer.synthetic.vocab import (
    COLOURS,
    SHAPES,
    Group,
    Scene,
    describe,
    parse_description,
    q_any,
    q_count,
    q_left_of,
    q_position,
)

N = 40
SOLVER_DIR = Path(ueg.__file__).parent


def items(category: str, level: str, n: int = N) -> list[UEGItem]:
    return [
        make_item(category, random.Random(f"test/{category}/{level}/{i}"), level) for i in range(n)
    ]


def passes(pixels: np.ndarray, checks: list[tuple[str, str]]) -> bool:
    return all(parse_yes_no_official(ueg.answer_yes_no(q, pixels)) == a for q, a in checks)


def pipeline(item: UEGItem, seed: int) -> np.ndarray:
    return np.asarray(ueg.render(ueg.rewrite(item.prompt, naive=False), seed, naive=False))


def draw(system: str, item: UEGItem, seed: int) -> np.ndarray:
    if system == "pipeline":
        return pipeline(item, seed)
    if system == "painter":
        return np.asarray(ueg.render(item.prompt, seed, naive=False))
    if system == "naive-direct":
        return np.asarray(ueg.render(item.prompt, seed, naive=True))
    refined = ueg.rewrite(item.prompt, naive=True)
    return np.asarray(ueg.render(refined, seed, naive=True))


def accuracy(category: str, level: str, system: str) -> float:
    correct = 0
    for i, item in enumerate(items(category, level)):
        try:
            pixels = draw(system, item, i)
        except NotUnderstood:  # refused (a program past its step budget): not correct
            continue
        correct += passes(pixels, item.checks)
    return correct / N


@pytest.fixture(scope="module")
def table() -> dict[tuple[str, str, str], float]:
    systems = ("pipeline", "painter", "naive-direct", "naive-step")
    return {
        (c, level, s): accuracy(c, level, s)
        for c in UEG_CATEGORIES
        for level in ("easy", "hard")
        for s in (systems if level == "easy" else ("pipeline",))
    }


@pytest.mark.parametrize("category", UEG_CATEGORIES)
def test_items_are_well_formed_and_deterministic(category: str) -> None:
    for level in ("easy", "medium", "hard"):
        for i in range(15):
            item = make_item(category, random.Random(f"wf/{i}"), level)
            assert item == make_item(category, random.Random(f"wf/{i}"), level)
            assert 2 <= len(item.checks) <= 5
            assert {a for _, a in item.checks} <= {"yes", "no"}
            assert any(a == "no" for _, a in item.checks)
            assert item.subtask


@pytest.mark.parametrize("category", ["world_knowledge", "commonsense_reasoning"])
def test_fact_prompts_do_not_name_the_answer(category: str) -> None:
    for item in items(category, "medium", 20):
        words = set(re.findall(r"[a-z]+", item.prompt.lower()))
        for question, answer in item.checks:
            if answer == "yes":
                colour = next(c for c in COLOURS if f" {c} " in question)
                assert colour not in words, item.prompt


@pytest.mark.parametrize("category", UEG_CATEGORIES)
def test_pipeline_solves_easy_items_and_hard_is_harder(
    category: str, table: dict[tuple[str, str, str], float]
) -> None:
    easy, hard = table[category, "easy", "pipeline"], table[category, "hard", "pipeline"]
    assert easy >= 0.95
    assert hard <= easy - 0.05


@pytest.mark.parametrize("category", UEG_CATEGORIES)
def test_systems_that_do_not_compute_score_low(
    category: str, table: dict[tuple[str, str, str], float]
) -> None:
    pipe = table[category, "easy", "pipeline"]
    assert table[category, "easy", "painter"] <= pipe - 0.6
    assert table[category, "easy", "naive-direct"] <= pipe - 0.6
    step = table[category, "easy", "naive-step"]
    assert table[category, "easy", "naive-direct"] < step < pipe


def test_negated_answers_and_a_blank_image_fail() -> None:
    blank = np.full((256, 256, 3), 255, dtype=np.uint8)
    negated = blank_ok = total = 0
    for category in UEG_CATEGORIES:
        for i, item in enumerate(items(category, "easy", 15)):
            flipped = [(q, "no" if a == "yes" else "yes") for q, a in item.checks]
            negated += passes(pipeline(item, i), flipped)
            blank_ok += passes(blank, item.checks)
            total += 1
    assert negated / total <= 0.05
    assert blank_ok / total <= 0.05


def random_scene(rng: random.Random) -> Scene:
    in_row = rng.random() < 0.4
    colours = rng.sample(list(COLOURS), rng.randint(1, 4))
    groups = tuple(
        Group(1 if in_row else rng.randint(1, 3), c, rng.choice(SHAPES)) for c in colours
    )
    return Scene(groups, in_row=in_row)


def test_judge_reads_painted_scenes() -> None:
    right = total = 0
    for seed in range(120):
        rng = random.Random(seed)
        scene = random_scene(rng)
        pixels = np.asarray(ueg.render(describe(scene), seed, naive=False))
        objects = scene.objects()
        questions: list[tuple[str, bool]] = []
        for g in scene.groups:
            questions.append((q_count(g.count, g.colour, g.shape), True))
            questions.append((q_count(g.count + 1, g.colour, g.shape), False))
        colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
        questions.append((q_any(colour, shape), (colour, shape) in objects))
        questions.append((q_count(len(objects)), True))
        if scene.in_row and len(objects) > 1:
            questions.append((q_position(0, objects[0]), True))
            questions.append((q_position(0, objects[-1]), False))
            questions.append((q_left_of(objects[0], objects[-1]), True))
            questions.append((q_left_of(objects[-1], objects[0]), False))
        for question, truth in questions:
            right += ueg.answer_yes_no(question, pixels) == ("Yes" if truth else "No")
            total += 1
    assert right / total >= 0.98


def test_unknown_question_is_not_answered() -> None:
    pixels = np.asarray(render_scene(Scene((Group(2, "red", "circle"),)), 0))
    with pytest.raises(NotUnderstood, match="'Is the cat asleep\\?'"):
        ueg.answer_yes_no("Is the cat asleep?", pixels)


def test_painter_draws_literal_words_without_computing() -> None:
    pixels = np.asarray(
        ueg.render("Draw as many circles as there are legs on a spider.", 0, naive=False)
    )
    assert ueg.answer_yes_no(q_count(8, shape="circle"), pixels) == "No"
    pixels = np.asarray(ueg.render("Draw 3 red squares.", 0, naive=False))
    assert ueg.answer_yes_no(q_count(3, "red", "square"), pixels) == "Yes"


@pytest.mark.parametrize(
    "code",
    [
        "import os",
        "__import__('os')",
        "x = ().__class__",
        "open('/etc/passwd')",
        "while True:\n    pass",
    ],
)
def test_restricted_evaluator_rejects_unsafe_code(code: str) -> None:
    with pytest.raises(SnippetError):
        run_snippet(code)
    prompt = (
        f"Run this Python program in your head and draw what it prints.\n```python\n{code}\n```"
    )
    with pytest.raises(NotUnderstood, match="^I cannot run this code"):
        ueg.rewrite(prompt, naive=False)
    with pytest.raises(NotUnderstood, match="^I cannot run this code"):
        ueg.derive_checks(prompt)


def test_restricted_evaluator_runs_the_allowed_subset() -> None:
    code = (
        "total = 0\nfor i in range(5):\n    if i % 2 == 0:\n        total += i\n"
        "names = ['red', 'blue']\nprint(total, names[1], 'stars')\nprint(len(names), str(3))"
    )
    assert run_snippet(code) == ["6 blue stars", "2 3"]


def test_rewrite_is_an_explicit_description() -> None:
    refined = ueg.rewrite("Draw 2 red circles and three times as many blue squares.", naive=False)
    assert parse_description(refined) == Scene(
        (Group(2, "red", "circle"), Group(6, "blue", "square"))
    )


def test_derive_checks_match_the_pipeline_image() -> None:
    for category in UEG_CATEGORIES:
        for i, item in enumerate(items(category, "easy", 10)):
            checks = ueg.derive_checks(item.prompt)
            assert any(a == "no" for _, a in checks)
            assert passes(pipeline(item, i), checks)


def test_revise_spaces_shapes_out_after_failed_counts() -> None:
    item = items("mathematical_reasoning", "hard", 1)[0]
    refined = ueg.rewrite(item.prompt, naive=False)
    question, _ = item.checks[0]
    failure = Verdict(question=question, expected="yes", reply="No", official="no", strict="no")
    revised = ueg.revise_from_request(revise_request(item.prompt, refined, [failure]), naive=False)
    scene = parse_description(revised)
    assert scene is not None and scene.spaced
    assert scene.groups == parse_description(refined).groups  # type: ignore[union-attr]


def test_solvers_do_not_import_the_generator() -> None:
    for path in SOLVER_DIR.glob("ueg*.py"):
        assert "benchmarks" not in path.read_text(encoding="utf-8"), path


async def test_symbolic_specialists_run_the_oracle_pipeline(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    reasoner = SymbolicSpecialist.from_name("reasoner", {}, images=store)
    painter = SymbolicSpecialist.from_name("painter", {}, images=store)
    item = items("code_to_image", "easy", 1)[0]
    refined = (await reasoner.understand(refine_request(item.prompt))).text
    image = await painter.generate(refined, seed=3)
    for question, answer in item.checks:
        reply = await reasoner.understand(judge_request(question), [image])
        assert parse_yes_no_official(reply.text) == answer
