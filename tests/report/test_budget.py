"""Cost-matched comparisons: a best-of-n strategy spends n images per instance, and the report
and `composer compare --per` say so beside the accuracy difference."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from composer.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakeGemini, FakeOpenAI  # noqa: E402
from mockbench import write_fixture  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
cli = CliRunner()


def answer(prompt: str, captions: list[str]) -> str:
    return "Yes." if captions else "Is there a shape? (yes)"


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeOpenAI, FakeGemini]]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-budget")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-budget")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeOpenAI() as openai, FakeGemini(answer) as gemini:
        yield openai, gemini


def test_cost_per_instance_of_best_of_n(
    fakes: tuple[FakeOpenAI, FakeGemini], tmp_path: Path
) -> None:
    openai, gemini = fakes
    data = write_fixture(tmp_path / "data")
    roles = 'roles = { reasoner = "gemini/gemini-2.5-pro", generator = "openai/gpt-image-1" }'
    config = tmp_path / "budget.toml"
    config.write_text(
        "\n".join(
            [
                "seed = 0",
                "[benchmark]",
                f'path = "{data}"',
                'categories = ["WK"]',
                "[judge]",
                'model = "gemini/gemini-2.5-pro"',
                "[systems.best-of-3]",
                f'ueg = {{ graph = "{EXAMPLES / "custom_strategy.py"}:build", n = 3 }}',
                roles,
                "[systems.single]",
                'ueg = "decompose-then-generate"',
                roles,
                '[models."openai/gpt-image-1"]',
                f'base_url = "{openai.url}/v1"',
                '[models."gemini/gemini-2.5-pro"]',
                f'base_url = "{gemini.url}"',
            ]
        )
    )
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"])
    assert result.exit_code in (0, 1), result.output
    shown = cli.invoke(app, ["report", str(run_dir), "--format", "json"])
    report = json.loads(shown.stdout)
    best, single = report["budget"]["best-of-3"], report["budget"]["single"]
    assert best["images_per_instance"] == 3.0 and single["images_per_instance"] == 1.0
    costs = report["costs"]
    draw_best = costs["best-of-3"]["nodes"]["draw_candidates"]["cost_usd"]
    draw_single = sum(
        n["cost_usd"] for name, n in costs["single"]["nodes"].items() if name == "draw"
    )
    # Three images per instance cost three times one, instance for instance.
    assert draw_best == pytest.approx(3 * draw_single) and draw_single > 0
    n = best["instances"]
    assert best["cost_per_instance"] == pytest.approx(costs["best-of-3"]["cost_usd"] / n)
    assert best["cost_per_instance"] > single["cost_per_instance"]
    if best["correct"]:
        assert best["cost_per_correct"] == pytest.approx(
            costs["best-of-3"]["cost_usd"] / best["correct"]
        )
    (pair,) = [p for p in report["paired"] if p["scope"] == "all"]
    images = pair["spend"]["images_per_instance"]
    assert images[:2] == ([3.0, 1.0] if pair["a"] == "best-of-3" else [1.0, 3.0])
    compared = cli.invoke(app, ["compare", str(run_dir), "best-of-3", "single", "--per", "image"])
    assert compared.exit_code == 0, compared.output
    text = " ".join(compared.stdout.split())
    assert "spend differently: images/inst 3 vs 1 (3x)" in text
    assert "accuracy points per image generated per instance" in text
    bad = cli.invoke(app, ["compare", str(run_dir), "best-of-3", "single", "--per", "token"])
    assert bad.exit_code == 2


def test_a_system_without_model_calls_is_not_compared_as_free() -> None:
    """An imported system made its outputs elsewhere: its spend is unknown to composer, so a
    pair with it says nothing of spending (it read `images/inst 0 vs 0.6 (0x)`)."""
    from composer.report.budget import spend

    composed = {"calls_per_instance": 2.0, "images_per_instance": 0.6}
    imported = {"calls_per_instance": 0.0, "images_per_instance": 0.0}
    assert spend(imported, composed) == spend(composed, imported) == {}
    assert spend(composed, {**composed, "images_per_instance": 1.2})["images_per_instance"] == [
        0.6,
        1.2,
        0.5,
    ]
