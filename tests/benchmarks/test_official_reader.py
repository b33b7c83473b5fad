"""The `official` readers against the released RealUnify scorer, case by case.

Every expected value below was worked out by reading the release's code, not by running
composer: GEU from `extract_characters_regex` and `cal_multiple_choice_acc` in
`eval/eval_understanding.py`, UEG from `process_one` in `eval/eval_generation.py`
(github.com/FrankYang-17/RealUnify). The comment on each case gives the reading step by step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from composer.benchmarks.realunify.protocol import (
    RELEASED_PREFIXES,
    parse_choice_official,
    parse_yes_no_official,
)
from composer.core.images import ImageRef
from composer.core.instance import Check
from composer.evaluation.judges import judge_ueg, score_geu
from composer.specialists.base import CallOptions, TextReply


def test_the_prefix_list_is_the_releases_in_its_order() -> None:
    # answer_prefixes in extract_characters_regex, copied in order.
    assert RELEASED_PREFIXES == (
        "The best answer is",
        "The correct answer is",
        "The answer is",
        "The answer",
        "The best option is",
        "The correct option is",
        "Best answer:",
        "Best option:",
        "Answer",
        "Answer is",
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # A bare letter: no phrase to remove, first [ABCD] is the letter.
        ("B", "B"),
        # strip() first, then the search.
        ("  \n D \t", "D"),
        # "The best answer is" goes, " C" is left.
        ("The best answer is C", "C"),
        # "The answer is" goes, " D." is left.
        ("The answer is D.", "D"),
        # "The correct option is" goes, " B" is left.
        ("The correct option is B", "B"),
        # "The answer" (after "The answer is" found nothing) goes: ": A".
        ("The answer: A", "A"),
        # "Best answer:" goes: " (C)".
        ("Best answer: (C)", "C"),
        # No phrase matches; the first capital A-D is the B of "Based".
        ("Based on the image, D", "B"),
        # No phrase matches ("Correct option:" is not one); the C of "Correct" comes first.
        ("Correct option: B", "C"),
    ],
)
def test_stock_phrases_and_the_first_capital(reply: str, expected: str) -> None:
    assert parse_choice_official(reply) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # "The answer is" (3rd) runs before "The answer" (4th): " isn't" never survives to be
        # read, "n't clear, so C" is left.
        ("The answer isn't clear, so C", "C"),
        # "Answer" (9th) removes the whole word before "Answer is" (10th) is tried: " is B".
        ("Answer is B", "B"),
        # "Answer" removed once, left to right: "Ans" + "wer is D" = "Answer is D"; then
        # "Answer is" (10th) removes that: " D". Without the 10th phrase it would read A.
        ("AnsAnswerwer is D", "D"),
        # One str.replace per phrase, not until nothing changes: "Best answer:" is deleted
        # from the middle, which joins "Best " and "answer: C" into "Best answer: C"; no later
        # phrase removes it, so the B of "Best" is read.
        ("Best Best answer:answer: C", "B"),
    ],
)
def test_phrases_that_contain_each_other_and_their_order(reply: str, expected: str) -> None:
    assert parse_choice_official(reply) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # "Answer" deleted from the middle: "Final : C", so not the A of "Answer".
        ("Final Answer: C", "C"),
        # "Best option:" deleted from the middle: "My  D", so not the B of "Best".
        ("My Best option: D", "D"),
        # Deleted after the letter too: "I choose D.  A" reads D.
        ("I choose D. The answer is A", "D"),
        # Every occurrence goes: "Answer" twice, leaving ": B, : C" -> B.
        ("Answer: B, Answer: C", "B"),
    ],
)
def test_phrases_are_removed_wherever_they_occur(reply: str, expected: str) -> None:
    assert parse_choice_official(reply) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # Case-sensitive: "ANSWER" is no phrase, its A is the first capital A-D.
        ("ANSWER: B", "A"),
        # "BEST ANSWER:" is no phrase; B of "BEST".
        ("BEST ANSWER: C", "B"),
        # "Best Answer:" is not "Best answer:", but "Answer" is: "Best : C" -> B of "Best".
        ("Best Answer: C", "B"),
        # "the answer is" (lower case) stays; it holds no capital, so D.
        ("the answer is D", "D"),
        # Only capitals count: nothing to read.
        ("c", None),
        # Only ASCII A-D: a full-width B is not one.
        ("\uff22", None),
    ],
)
def test_phrases_and_letters_are_case_sensitive(reply: str, expected: str | None) -> None:
    assert parse_choice_official(reply) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # 14 words, no capital A-D: the >10 words rule gives "".
        ("the image shows a red ball next to a small blue cube on a table", None),
        # 13 words with a C: the rule does not apply, the C is read.
        ("after looking at the picture carefully i would say that option C fits", "C"),
        # 14 words whose only capital A-D was inside "Answer", deleted first: "".
        ("after looking at the picture carefully i would say The Answer is unclear to me", None),
        # Short and without a letter: "" from the search, not from the rule.
        ("no idea", None),
        # Long, letter found first in "Because": B.
        ("Because the arrow points left and the path is blocked the correct one is C", "B"),
    ],
)
def test_long_replies(reply: str, expected: str | None) -> None:
    assert parse_choice_official(reply) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        # cal_multiple_choice_acc: a list response is replaced by its first element.
        (["C", "A"], "C"),
        (["The answer is B", "D"], "B"),
        # Only the first element is read, even when it has no letter.
        (["no idea", "D"], None),
    ],
)
def test_a_list_response_is_read_from_its_first_element(
    response: list[str], expected: str | None
) -> None:
    assert parse_choice_official(response) == expected


@pytest.mark.parametrize(
    "response",
    [
        # The release raises on these (.strip() of None or of a list; [] has no [0]), which
        # its try/except turns into no score for the whole file; composer reads them as no
        # letter, so only that instance is not right.
        None,
        3,
        [],
        [["B"]],
        # An empty reply: the search finds nothing, "" comes back.
        "",
        "   ",
    ],
)
def test_no_text_reads_as_no_letter(response: object) -> None:
    assert parse_choice_official(response) is None


def test_geu_score_compares_the_reading_with_the_answer_exactly() -> None:
    # filter_resp == item["answer"]: "B" is right for answer "B", wrong for "b" or "C".
    assert score_geu("Based on the image, D", "B").official is True
    assert score_geu("Based on the image, D", "D").official is False
    assert score_geu("B", "b").official is False
    # An unread reply ("") never equals a letter.
    assert score_geu("unsure", "A").official is False


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # process_one: lower(), then "yes" in -> "yes", then "no" in -> "no".
        ("Yes", "yes"),
        ("NO", "no"),
        ("  yes.  ", "yes"),
        # Both words: "yes" first replaces the text with "yes", which holds no "no".
        ("No, yes", "yes"),
        ("Yes and no", "yes"),
        # Substrings count: "eyes" holds "yes"; "know", "cannot", "unknown", "Nope" hold "no".
        ("Her eyes are closed", "yes"),
        ("I don't know", "no"),
        ("I cannot tell", "no"),
        ("Unknown", "no"),
        ("Nope", "no"),
        # Neither: the lowered reply itself is compared with "yes"/"no" and never equals
        # either, so the reading matches no expected answer (composer: None).
        ("maybe", None),
        ("Y", None),
        ("", None),
    ],
)
def test_yes_no_official(reply: str, expected: str | None) -> None:
    assert parse_yes_no_official(reply) == expected


class _Scripted:
    """An Understander answering each judge question from a table, counting the questions."""

    def __init__(self, replies: dict[str, str]) -> None:
        self.replies = replies
        self.asked: list[str] = []

    async def understand(
        self,
        prompt: str,
        images: Sequence[ImageRef] = (),
        *,
        options: CallOptions | None = None,
    ) -> TextReply:
        question = next(q for q in self.replies if f"Question: {q}\n" in prompt)
        self.asked.append(question)
        return TextReply(text=self.replies[question])


_IMAGE = ImageRef(sha256="0" * 64)


@pytest.mark.parametrize(
    ("replies", "official"),
    [
        # Every reading matches its answer: SCORE stays 1.
        ({"Q1?": "Yes", "Q2?": "No."}, True),
        # The first mismatch sets SCORE 0 (the release stops asking there).
        ({"Q1?": "No", "Q2?": "No"}, False),
        # A later mismatch: 0 too.
        ({"Q1?": "yes", "Q2?": "Yes, there is"}, False),
        # "I don't know" reads as no, which Q2 expects: 1.
        ({"Q1?": "yes", "Q2?": "I don't know"}, True),
        # Neither word: the lowered reply is not "yes", 0.
        ({"Q1?": "sure", "Q2?": "no"}, False),
    ],
)
def test_ueg_polling_is_all_or_nothing(replies: dict[str, str], official: bool) -> None:
    checks = [Check(question="Q1?", answer="yes"), Check(question="Q2?", answer="no")]
    score = asyncio.run(judge_ueg(_Scripted(replies), _IMAGE, checks))
    assert score.official is official


def test_ueg_polling_with_no_question_is_right() -> None:
    # An empty question_list never enters the loop: SCORE stays 1.
    score = asyncio.run(judge_ueg(_Scripted({}), _IMAGE, []))
    assert score.official is True


class _Replies:
    """An Understander giving the scripted replies in turn, counting the calls."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.calls = 0

    async def understand(
        self,
        prompt: str,
        images: Sequence[ImageRef] = (),
        *,
        options: CallOptions | None = None,
    ) -> TextReply:
        self.calls += 1
        return TextReply(text=self.replies.pop(0) if self.replies else "")


@pytest.mark.parametrize(
    ("replies", "calls", "official"),
    [
        # `response_text == ""` -> continue: asked again until a reply has text.
        (("", "", "Yes"), 3, True),
        # MAX_RETRY = 15: after 15 empty replies the text stays "", which matches nothing.
        ((), 15, False),
        # A reply of spaces is not "": no retry; it holds neither word, so it is wrong.
        (("  ", "Yes"), 1, False),
    ],
)
def test_only_an_empty_judge_reply_is_asked_again(
    replies: tuple[str, ...], calls: int, official: bool
) -> None:
    judge = _Replies(*replies)
    score = asyncio.run(judge_ueg(judge, _IMAGE, [Check(question="Q1?", answer="yes")]))
    assert (judge.calls, score.official) == (calls, official)
