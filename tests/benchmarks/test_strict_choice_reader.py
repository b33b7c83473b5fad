"""The strict GEU reader reads the letter a reply gives, and nothing else (issue 25, class 12).

Each row is a reply a model could send, with what `strict` must read: a letter, or None
(unscored) where the reply gives none or several. The `official` reader reproduces RealUnify's
released scorer and is not changed; a few rows pin it, to show the two differ on purpose.
"""

from __future__ import annotations

import pytest

from composer.benchmarks.realunify.protocol import parse_choice_official, parse_choice_strict

ADVERSARIAL: list[tuple[str, str | None]] = [
    # the article "a" (and "A") is not the choice A
    ("the answer is a clear D", "D"),
    ("The answer is a clear D.", "D"),
    ("a", None),
    ("A red circle is shown, so D", "D"),
    ("A cat sits on a mat.", None),
    ("There is a dog in the picture.", None),
    # alternatives are unscored, as the README says
    ("A or B", None),
    ("The answer is A or B", None),
    ("The answer is A or maybe B.", None),
    ("The answer is (C) or (D)", None),
    ("The answer is A/B", None),
    ("The answer is A and C", None),
    ("The answer is A, B", None),
    ("The answer is either A or B", None),
    ("between A and B", None),
    ("C, D", None),
    # letters the reply rules out are not its answer
    ("Not A.", None),
    ("It is not A, it is D", "D"),
    ("Neither A nor B", None),
    ("the answer is A, not B", "A"),
    ("B rather than C", "B"),
    ("C is not it; D is", "D"),
    ("B is wrong. D is correct.", "D"),
    ("A can't be right, so B", "B"),
    # mentions are not answers; the last explicit statement is
    ("option B is wrong, so the answer is C", "C"),
    ("Answer: C. Explanation: A and B are wrong.", "C"),
    ("The answer is A. Wait, the answer is B.", "B"),
    ("Answer A is tempting, but the answer is D.", "D"),
    # letters inside words, possessives and compounds are not letters
    ("C-shaped thing: B", "B"),
    ("It's B's colour; C", "C"),
    ("ABCD", None),
    ("3D view shows it", None),
    # explicit answers in their usual dresses
    ("C", "C"),
    ("(B)", "B"),
    ("**D**.", "D"),
    ("B. green", "B"),
    ("The answer is D.", "D"),
    ("The answer is: **D**", "D"),
    ("Best answer: A", "A"),
    ("Final Answer: C", "C"),
    ("ANSWER: C", "C"),
    ("The correct answer would be D", "D"),
    ("The best option is (B).", "B"),
    ("The answer is option C", "C"),
    ("The answer is B because the circle is red", "B"),
    ("A is correct", "A"),
    ("Based on the image, D", "D"),
    ("I think it could be A", "A"),
    ("**Answer:** C", "C"),
    ("**Answer:** C. A is wrong", "C"),
    ("The final answer is \\boxed{C}", "C"),
    ("Answer: ( D )", "D"),
    ("A: red, B: green. I pick B.", None),
    # nothing, or not a capital letter
    ("", None),
    ("answer: b", None),
    ("I cannot tell from this image.", None),
]


@pytest.mark.parametrize(("reply", "strict"), ADVERSARIAL)
def test_strict_reads_what_the_reply_says(reply: str, strict: str | None) -> None:
    assert parse_choice_strict(reply) == strict


@pytest.mark.parametrize(
    ("reply", "official"),
    [
        ("the answer is a clear D", "D"),  # "a" is lowercase: the release reads D too
        ("The answer is A or B", "A"),  # the release's first capital
        ("A red circle is shown, so D", "A"),
        ("Based on the image, D", "B"),
        ("Not A.", "A"),
    ],
)
def test_official_still_reads_as_the_release_does(reply: str, official: str | None) -> None:
    assert parse_choice_official(reply) == official


def test_a_long_reply_is_read_in_linear_time() -> None:
    """Every candidate letter looks back a bounded window, not the whole reply."""
    reply = "B rather than C. " * 5_000 + "The answer is D."
    assert parse_choice_strict(reply) == "D"
    assert parse_choice_strict("C is not it. " * 5_000) is None
