"""The symbolic GEU skills really solve the synthetic GEU items, with honest difficulty."""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from composer.benchmarks.realunify.protocol import EDIT_PROMPTS, choice_request, edit_request
from composer.synthetic.suite.geu import GEUItem, make_item
from composer.synthetic.symbolic import geu
from composer.synthetic.symbolic.geu_tracking import read_digits
from composer.synthetic.symbolic.vocabulary import NotUnderstood

CATEGORIES = (
    "mental_reconstruction",
    "mental_tracking",
    "attentional_focusing",
    "cognitive_navigation",
)
LEVELS = ("easy", "medium", "hard")
N = 32


@dataclass
class Scores:
    """Correct answers per pipeline, plus the same with every question's options permuted."""

    correct: dict[str, int] = field(default_factory=dict)
    permuted: dict[str, int] = field(default_factory=dict)

    def rate(self, pipeline: str) -> float:
        return self.correct[pipeline] / N


def _permute(item: GEUItem, rng: random.Random) -> tuple[list[str], int]:
    order = list(range(4))
    while order == list(range(4)):
        rng.shuffle(order)
    return [item.options[i] for i in order], order.index(item.answer)


def _run(category: str, level: str) -> Scores:
    scores = Scores()
    perm_rng = random.Random(f"perm/{category}/{level}")
    for i in range(N):
        item = make_item(category, random.Random(f"test/{category}/{level}/{i}"), level)
        raw = np.asarray(item.image)
        prompt = edit_request(category, item.question)
        painted = np.asarray(geu.edit(prompt, raw, seed=i, naive=False))
        naive_painted = np.asarray(geu.edit(prompt, raw, seed=i, naive=True))
        runs = {
            "stepwise": ([painted], False),
            "direct": ([raw], False),
            "naive_direct": ([raw], True),
            "naive_stepwise": ([naive_painted], True),
        }
        options, right = _permute(item, perm_rng)
        for name, (images, naive) in runs.items():
            got = geu.answer_choice(item.question, list(item.options), images, naive=naive)
            scores.correct[name] = scores.correct.get(name, 0) + (got == item.answer)
            if name in ("stepwise", "direct"):
                got = geu.answer_choice(item.question, options, images, naive=naive)
                scores.permuted[name] = scores.permuted.get(name, 0) + (got == right)
    return scores


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, str], Scores]:
    return {(c, lvl): _run(c, lvl) for c in CATEGORIES for lvl in LEVELS}


def test_report(results: dict[tuple[str, str], Scores], capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print()
        for (category, level), s in results.items():
            rates = " ".join(f"{k}={v / N:.2f}" for k, v in s.correct.items())
            print(f"{category:22s} {level:6s} {rates}")


@pytest.mark.parametrize("category", CATEGORIES)
def test_stepwise_solves_easy(results: dict[tuple[str, str], Scores], category: str) -> None:
    assert results[(category, "easy")].rate("stepwise") >= 0.95


@pytest.mark.parametrize("category", CATEGORIES)
def test_hard_is_harder(results: dict[tuple[str, str], Scores], category: str) -> None:
    easy, hard = results[(category, "easy")], results[(category, "hard")]
    assert hard.rate("stepwise") < easy.rate("stepwise")
    assert hard.rate("direct") < easy.rate("direct")


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("level", ("medium", "hard"))
def test_editing_helps_the_reasoner(
    results: dict[tuple[str, str], Scores], category: str, level: str
) -> None:
    s = results[(category, level)]
    assert s.rate("direct") < s.rate("stepwise")


@pytest.mark.parametrize("category", CATEGORIES)
def test_naive_model_is_weaker(results: dict[tuple[str, str], Scores], category: str) -> None:
    for level in LEVELS:
        s = results[(category, level)]
        assert s.rate("naive_direct") < s.rate("stepwise")
        assert s.rate("naive_stepwise") < s.rate("stepwise") or level == "hard"


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("level", LEVELS)
def test_option_order_does_not_matter(
    results: dict[tuple[str, str], Scores], category: str, level: str
) -> None:
    s = results[(category, level)]
    assert s.permuted == {k: s.correct[k] for k in s.permuted}


@pytest.mark.parametrize("category", CATEGORIES)
def test_blank_images_give_chance(category: str) -> None:
    correct = 0
    for i in range(N):
        level = LEVELS[i % 3]
        item = make_item(category, random.Random(f"blank/{category}/{i}"), level)
        blank = np.full_like(np.asarray(item.image), 255)
        painted = np.asarray(geu.edit(edit_request(category, item.question), blank, i, naive=False))
        for images in ([blank], [painted]):
            got = geu.answer_choice(item.question, list(item.options), images, naive=False)
            correct += got == item.answer
    assert correct / (2 * N) <= 0.4


@pytest.mark.parametrize("category", CATEGORIES)
def test_items_are_well_formed(category: str) -> None:
    positions = [0, 0, 0, 0]
    for i in range(60):
        item = make_item(category, random.Random(f"form/{category}/{i}"), LEVELS[i % 3])
        assert len(item.options) == 4 and len(set(item.options)) == 4
        assert item.image.size[0] <= 384 and item.image.size[1] <= 384
        assert item.image.mode == "RGB"
        positions[item.answer] += 1
        again = make_item(category, random.Random(f"form/{category}/{i}"), LEVELS[i % 3])
        assert again.question == item.question and again.options == item.options
        assert np.array_equal(np.asarray(again.image), np.asarray(item.image))
    assert min(positions) >= 6


@pytest.mark.parametrize("category", CATEGORIES)
def test_choice_request_round_trips(category: str) -> None:
    item = make_item(category, random.Random(f"rt/{category}"), "medium")
    parsed = geu.parse_choice_request(choice_request(item.question, item.options))
    assert parsed == (item.question, list(item.options))
    assert geu.category_of_question(item.question) == category


def test_parse_choice_request_rejects_other_text() -> None:
    assert geu.parse_choice_request("Is there a red circle? Answer yes or no.") is None
    request = choice_request("Which?", ["a", "b", "c", "d"])
    assert geu.parse_choice_request(request.replace("B. b", "X. b")) is None


def test_edit_refuses_unknown_instructions() -> None:
    """It used to return the image unchanged, as if it had edited it."""
    item = make_item("mental_tracking", random.Random(1), "easy")
    raw = np.asarray(item.image)
    with pytest.raises(NotUnderstood, match="'Make it pretty.'"):
        geu.edit("Make it pretty.", raw, 0, naive=False)


def test_tracking_edit_leaves_digits_readable() -> None:
    item = make_item("mental_tracking", random.Random(3), "medium")
    raw = np.asarray(item.image)
    painted = np.asarray(
        geu.edit(edit_request("mental_tracking", item.question), raw, 0, naive=False)
    )
    assert len(read_digits(raw)) == len(read_digits(painted)) == 3


def test_edit_prompts_cover_every_category() -> None:
    assert set(EDIT_PROMPTS) == set(CATEGORIES)


def test_solvers_do_not_import_the_generator() -> None:
    root = Path(geu.__file__).parent
    for path in root.glob("geu*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            assert not any(n.startswith("composer.synthetic.suite") for n in names), path
