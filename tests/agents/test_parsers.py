import pytest

from composer.agents.rewrite import parse_rewrite
from composer.agents.verify import parse_checks
from composer.benchmarks.realunify.protocol import (
    choice_request,
    judge_request,
    parse_choice_official,
    parse_choice_strict,
    parse_yes_no_official,
    parse_yes_no_strict,
    prompt_of_refine_request,
    question_of_judge_request,
    refine_request,
)
from composer.core.errors import AgentOutputError


@pytest.mark.parametrize(
    ("reply", "official", "strict"),
    [
        ("Yes", "yes", "yes"),
        ("no.", "no", "no"),
        ("I don't know", "no", None),  # "know" reads as no in the released scorer
        ("Not really", "no", None),
        ("No, but yes in part", "yes", "no"),  # "yes" anywhere wins
        ("", None, None),
        ("maybe", None, None),
    ],
)
def test_yes_no_parsers(reply: str, official: str | None, strict: str | None) -> None:
    assert parse_yes_no_official(reply) == official
    assert parse_yes_no_strict(reply) == strict


@pytest.mark.parametrize(
    ("reply", "official", "strict"),
    [
        ("C", "C", "C"),
        ("(B)", "B", "B"),
        ("The answer is D.", "D", "D"),
        ("Based on the image, D", "B", "D"),  # first capital A-D anywhere, as released
        ("Best answer: A", "A", "A"),
        ("I think it could be many things but honestly there is no way to tell here", None, None),
        ("A or B", "A", None),
        ("", None, None),
    ],
)
def test_choice_parsers(reply: str, official: str | None, strict: str | None) -> None:
    assert parse_choice_official(reply) == official
    assert parse_choice_strict(reply) == strict


def test_templates_round_trip() -> None:
    assert prompt_of_refine_request(refine_request("as many circles as a spider has legs")) == (
        "as many circles as a spider has legs"
    )
    assert question_of_judge_request(judge_request("Is the sky blue?")) == "Is the sky blue?"
    request = choice_request("Which?", ["red", "green", "blue", "gold"])
    assert "A. red\nB. green\nC. blue\nD. gold\nThe best answer is:" in request


def test_judge_prompt_is_the_papers_word_for_word() -> None:
    assert judge_request("Q?") == (
        "Please answer the following question based on the image:\nQuestion: Q?\n\n"
        "You should only reply yes or no, and do not provide any other extra content."
    )


def test_rewrite_and_checks_parsing() -> None:
    assert parse_rewrite('Refined prompt: "eight red circles"').prompt == "eight red circles"
    with pytest.raises(AgentOutputError) as info:
        parse_rewrite("   ")
    assert info.value.raw == "   "
    checks = parse_checks("Here you go:\n1. Are there 8 circles? (yes)\n- Is any circle blue? (No)")
    assert [(c.question, c.answer) for c in checks] == [
        ("Are there 8 circles?", "yes"),
        ("Is any circle blue?", "no"),
    ]
    with pytest.raises(AgentOutputError):
        parse_checks("no questions here")
