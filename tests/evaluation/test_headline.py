"""The headline score of an output, chosen from scorer identities alone (no benchmark named)."""

from composer.evaluation.headline import headline_scorer, polling_judges

DEFINITIONS = {
    "judge-a": {"model": "gemini/gemini-2.5-pro", "method": "realunify-polling"},
    "judge-b": {"model": "openai/gpt-4.1", "method": "realunify-polling"},
    "choice-reader-1": {"model": None, "method": "choice-reader"},
    "choice-reader-2": {"model": None, "method": "choice-reader"},
    "bench-judged-a": {"model": "gemini/gemini-2.5-pro", "method": "bench-judged"},
    "bench-judged-b": {"model": "openai/gpt-4.1", "method": "bench-judged"},
    "bench-judged-old": {"model": "mock/old", "method": "bench-judged"},
    "grid": {"model": None, "method": "grid"},
}
ORDER = ["judge-a", "judge-b", "choice-reader-2", "grid", "bench-judged-a", "bench-judged-b"]
POLLING = frozenset({"judge-a", "judge-b"})


def pick(axis: str, scored: list[str], *, asked: str | None = "judge-a", judge: str = "judge-a"):
    return headline_scorer(
        axis,
        scored,
        asked=asked,
        judge=judge,
        polling=POLLING,
        definitions=DEFINITIONS,
        order=ORDER,
    )


def test_the_headline_judge_leads_and_judges_never_mix() -> None:
    assert pick("UEG", ["judge-b", "judge-a"]) == "judge-a"
    assert pick("UEG", ["judge-b", "judge-a"], asked="judge-b", judge="judge-b") == "judge-b"
    # The headline judge has not scored it, another judge has: unscored, not judge-b's score.
    assert pick("UEG", ["judge-b"]) is None


def test_the_letter_reader_leads_a_multiple_choice_output_latest_version_first() -> None:
    assert pick("GEU", ["choice-reader-1", "choice-reader-2"], asked=None) == "choice-reader-2"
    assert pick("GEU", ["choice-reader-2", "choice-reader-1"], asked=None) == "choice-reader-1"
    assert pick("GEU", ["choice-reader-1", "choice-reader-2"], asked="choice-reader-1") == (
        "choice-reader-1"
    )


def test_a_benchmarks_judged_scorer_follows_the_headline_judges_model() -> None:
    both = ["bench-judged-b", "bench-judged-a"]
    assert pick("GEU", both, asked=None) == "bench-judged-a"
    assert pick("UEG", both) == "bench-judged-a"
    assert pick("UEG", both, asked="judge-b", judge="judge-b") == "bench-judged-b"
    # A programmatic score leads over a judged one (Uni-MMMU's grids beside its judges).
    assert pick("GEU", ["bench-judged-a", "grid"], asked=None) == "grid"


def test_a_judged_score_from_a_scorer_the_run_no_longer_has_counts_for_nothing() -> None:
    assert pick("UEG", ["bench-judged-old"]) is None
    assert pick("GEU", ["bench-judged-old", "bench-judged-b"], asked=None) == "bench-judged-b"
    assert pick("UEG", []) is None


def test_folders_from_before_the_judges_were_recorded_take_every_model_scorer_for_one() -> None:
    assert polling_judges(None, DEFINITIONS) == {
        "judge-a",
        "judge-b",
        "bench-judged-a",
        "bench-judged-b",
        "bench-judged-old",
    }
    assert polling_judges(("judge-a",), DEFINITIONS) == {"judge-a"}
