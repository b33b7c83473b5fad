"""The judged scorers' requests and readers against eval_ummmu.py's evaluators."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from composer.benchmarks.unimmmu import judge_prompts as J
from composer.benchmarks.unimmmu.judged import (
    TEXT_MODEL,
    VL_MODEL,
    JudgeRequest,
    code_channels,
    code_requests,
    first_json_object,
    geometry_channels,
    geometry_requests,
    judge_all,
    no_code_reference,
    read_reply,
    render_summary,
    science_channels,
    science_requests,
)
from composer.benchmarks.unimmmu.records import (
    CodeReferences,
    GeometryReferences,
    ScienceReferences,
)

GEO = GeometryReferences(
    base=Path("base.png"),
    overlay=Path("aux.png"),
    auxiliary_text="",
    problem="Find x.",
    solution="x = 2",
    type="proving",
    judge_type="PROVING",
)


def both(channel) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    return channel.official, channel.strict


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('x {"a": {"b": 1}} y {"c": 2}', '{"a": {"b": 1}}'),
        ('{"a": "}{"} tail', '{"a": "}{"}'),
        ('{"a": "\\"}"}', '{"a": "\\"}"}'),
        ('{"a": 1', None),
        ("no json", None),
        ("", None),
    ],
)
def test_first_balanced_object(text: str, found: str | None) -> None:
    """find_first_json_substring: braces counted outside strings from the first '{'."""
    assert first_json_object(text) == found


def test_thinking_trace_official_vs_strict() -> None:
    """The first '{' may sit inside Qwen3's <think>: official reads it; strict cuts at </think>."""
    reply = '<think>maybe {"text_ok": 1}?</think>\n{"text_ok": 0}'
    assert read_reply(reply, "official") == {"text_ok": 1}
    assert read_reply(reply, "strict") == {"text_ok": 0}
    assert read_reply("no json", "official") == {"_raw": "no json"}
    assert read_reply("no json", "strict") is None


def test_geometry_requests_follow_the_release() -> None:
    """_call_overlay_judge: system_overlay, then the user template with aux_en or "(none)",
    then base, GT overlay, prediction (the first model_image_*), 512 tokens, 2 attempts;
    _call_text_judge: Qwen3 with thinking, 32767 tokens."""
    requests = geometry_requests(GEO, "proof", [Path("model_image_01.png"), Path("z.png")])
    overlay = requests["overlay"]
    assert overlay.model == VL_MODEL and overlay.system == J.GEOMETRY_OVERLAY_SYSTEM
    assert overlay.images == (Path("base.png"), Path("aux.png"), Path("model_image_01.png"))
    assert "Auxiliary lines to draw (English; draw ALL): \n(none)\n" in overlay.prompt
    assert (overlay.max_new_tokens, overlay.retries) == (512, 2)
    text = requests["text"]
    assert (text.model, text.thinking, text.max_new_tokens) == (TEXT_MODEL, True, 32767)
    assert "Type: PROVING\nProblem (may have EN/CN):\nFind x.\n" in text.prompt
    assert text.prompt.endswith(
        "Candidate solution text (to grade):\nproof\n\nRules:\n"
        "- Only accept text_ok=1 if (reasoning_rigorous=1 AND "
        "conclusion_correct=1).\n- For calculation: calc_numeric_match=1 if "
        "numeric answer equals reference (choices ignored).\n- Return "
        "strictly-formatted JSON only. Do Not Use any markers like "
        "```json ...  ```\n            "
    )
    assert "overlay" not in geometry_requests(GEO, None, [])


def test_geometry_reading() -> None:
    """`1 if int(data.get(k, 0)) == 1 else 0` per key; an int() failure (the release retries,
    greedy answers the same) ends in text_ok 0; no image -> overlay_ok 0."""
    got = geometry_channels(
        {
            "overlay": '{"overlay_ok": "1", "overlay_reason": "ok"}',
            "text": '{"reasoning_rigorous": 1, "conclusion_correct": 1.0, "text_ok": true}',
        }
    )
    assert both(got["overlay_ok"]) == (1.0, None)
    assert both(got["text_ok"]) == (1.0, None)
    assert both(got["reasoning_rigorous"]) == (1.0, 1.0)
    bad = geometry_channels({"text": '{"reasoning_rigorous": "yes", "text_ok": 1}'})
    assert both(bad["text_ok"]) == (0.0, 1.0)
    assert both(bad["overlay_ok"]) == (0.0, 0.0)
    assert bad["overlay_ok"].note == "No predicted image found."


SCI = ScienceReferences(initial=Path("ice.png"), condition=" Heat it. ", output_text="Water.")


def test_science_requests() -> None:
    """_evaluate_text: scene "" -> "(none)", condition as stored, the whole model text;
    _evaluate_image: the user text, then the initial image, then the first prediction."""
    requests = science_requests(SCI, "It melts.", [Path("model_image_01.png")])
    text = requests["text"]
    assert text.system == J.SCIENCE_TEXT_SYSTEM and text.max_new_tokens == 1024
    assert "Scene: (none)\nCondition:  Heat it. \n" in text.prompt
    assert text.prompt.endswith(
        "Candidate explanation (text to evaluate):\nIt melts.\nReturn ONLY JSON.\n"
    )
    image = requests["image"]
    assert (
        image.prompt
        == "\nCondition (context):  Heat it. \nTARGET text (final state to achieve):\nWater.\n"
    )
    assert image.images == (Path("ice.png"), Path("model_image_01.png"))
    assert science_requests(SCI, None, []) == {}


def test_science_truthiness() -> None:
    """`1 if data.get(k) else 0`: the string "0" counts as correct officially."""
    got = science_channels(
        {"text": '{"reasoning_correct": "0", "result_correct": 1}', "image": "I cannot judge."}
    )
    assert both(got["reasoning_correct"]) == (1.0, None)
    assert both(got["result_correct"]) == (1.0, 1.0)
    assert both(got["image_correct"]) == (0.0, None)
    missing = science_channels({})
    assert both(missing["reasoning_correct"]) == (0.0, 0.0)


CODE = CodeReferences(svg=Path("a.svg"), png=Path("a.png"), svg_field="a.svg", png_field="a.png")


def test_code_requests() -> None:
    """_eval_image: user only, [image_prompt, reference, candidate] per image; _eval_text:
    [text_prompt, reference, "Candidate description:\\n" + summary] when a summary exists."""
    text = "x <render_summary> Two red circles. </render_summary>"
    assert render_summary(text) == "Two red circles."
    requests = code_requests(CODE, Path("a.png"), text, [Path("m1.png"), Path("m2.png")])
    assert list(requests) == ["image_1", "image_2", "text"]
    assert requests["image_2"].parts == (J.CODE_IMAGE_PROMPT, Path("a.png"), Path("m2.png"))
    assert requests["text"].parts[2] == "Candidate description:\nTwo red circles."
    assert requests["text"].system is None
    assert "PALETTE = \\['#E74C3C','#3498DB'" in J.CODE_IMAGE_PROMPT
    assert "text" not in code_requests(CODE, Path("a.png"), "no summary", [])


def test_code_best_image_and_readings() -> None:
    """summarize: best by float(shape) + float(position) (first on ties); verdict "match" for
    the binary rate; text by truthiness; strict wants integers 0..5."""
    got = code_channels(
        {
            "image_1": '{"shape_color_accuracy": "4", "position_accuracy": 4, "verdict": "match"}',
            "image_2": '{"shape_color_accuracy": 3, "position_accuracy": 2, "verdict": "partial"}',
            "text": '{"text_semantic_match": 1}',
        }
    )
    assert both(got["shape_color_accuracy"]) == (4.0, 3.0)
    assert both(got["position_accuracy"]) == (4.0, 2.0)
    assert both(got["image_match"]) == (1.0, 0.0)
    assert both(got["text_semantic_match"]) == (1.0, 1.0)
    nothing = code_channels({})
    assert both(nothing["shape_color_accuracy"]) == (0.0, 0.0)
    assert both(nothing["text_semantic_match"]) == (0.0, 0.0)
    assert both(no_code_reference()["position_accuracy"]) == (0.0, None)


def test_code_rubric_value_float_rejects_zeroes_that_image() -> None:
    """The release float()s both rubric values in one try: one it rejects (null, "", "N/A", an
    integer past float's range) leaves that image `mismatch` with 0 and 0, not just that field,
    so a later image with lower scores wins "best by sum"."""
    for bad in ("null", '""', '"N/A"', "[]", "1" + "0" * 400):
        reply = f'{{"shape_color_accuracy": 4, "position_accuracy": {bad}, "verdict": "match"}}'
        got = code_channels(
            {
                "image_1": reply,
                "image_2": '{"shape_color_accuracy": 2, "position_accuracy": 1, "verdict": "x"}',
            }
        )
        assert got["shape_color_accuracy"].official == 2.0, bad
        assert got["position_accuracy"].official == 1.0, bad
        assert got["image_match"].official == 0.0, bad
        alone = code_channels({"image_1": reply})
        assert (alone["shape_color_accuracy"].official, alone["image_match"].official) == (0, 0)
    # A missing value is float(0), and a numeric string is read as its number.
    kept = code_channels({"image_1": '{"shape_color_accuracy": "3", "verdict": "match"}'})
    assert both(kept["shape_color_accuracy"]) == (3.0, None)
    assert kept["position_accuracy"].official == 0.0
    assert kept["image_match"].official == 1.0


def test_judge_is_injected() -> None:
    """Any async callable JudgeRequest -> str; the replies come back by request key."""
    seen: list[JudgeRequest] = []

    async def judge(request: JudgeRequest) -> str:
        seen.append(request)
        return '{"overlay_ok": 1}' if request.model == VL_MODEL else '{"text_ok": 1}'

    requests = geometry_requests(GEO, "proof", [Path("p.png")])
    replies = asyncio.run(judge_all(requests, judge))
    assert geometry_channels(replies)["overlay_ok"].official == 1.0
    assert [r.model for r in seen] == [TEXT_MODEL, VL_MODEL]


def test_a_scorers_version_counts_its_own_code() -> None:
    """What a Uni-MMMU scorer reads from the output (which text, which images) and how it asks
    the judge live in its class: a change there is a new version, so stored scores are scored
    again, as a change of the readers' modules already made them."""
    from composer.benchmarks.unimmmu import case_scoring, grids, judge_prompts, judged, scoring
    from composer.evaluation.judges import code_version
    from composer.evaluation.scorers import UniMMMUJudged, UniMMMUProgrammatic

    programmatic = UniMMMUProgrammatic.definition.__get__(object.__new__(UniMMMUProgrammatic))
    version = programmatic()["method_version"]
    assert version == code_version(case_scoring, grids, scoring, UniMMMUProgrammatic)
    assert version != code_version(case_scoring, grids, scoring)
    judge = SimpleNamespace(model="m", model_options={})
    scorer = UniMMMUJudged(judge, model=None, images=None)  # type: ignore[arg-type]
    version = scorer.definition()["method_version"]
    assert version == code_version(case_scoring, judge_prompts, judged, UniMMMUJudged)
    assert version != code_version(case_scoring, judge_prompts, judged)
