"""Every example run file parses, and the offline ones run (one instance per category)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from composer.cli import app
from composer.core.config import load_config

EXAMPLES = Path(__file__).parents[1] / "examples"
cli = CliRunner()


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_example_parses(path: Path) -> None:
    assert load_config(path).systems


@pytest.mark.parametrize(
    "name",
    [
        "unified_direct_and_stepwise.toml",
        "custom_strategy.toml",
        "custom_judge.toml",
        "minimal_strategy.toml",
        "custom_benchmark.toml",
    ],
)
def test_offline_example_runs(name: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = cli.invoke(
        app, ["run", str(EXAMPLES / name), "--out", str(run_dir), "--limit", "1", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(cli.invoke(app, ["report", str(run_dir), "--format", "json"]).stdout)
    for system in report["systems"].values():
        assert system["UEG"]["counts"]["failed"] == 0


def test_hosted_example_stops_before_any_call_without_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    data = tmp_path / "data" / "realunify"
    data.mkdir(parents=True)
    (data / "UEG_direct.json").write_text(
        json.dumps(
            [
                {
                    "index": 0,
                    "task_type": "world_knowledge",
                    "prompt": "p",
                    "question_list": [{"question": "q?", "answer": "yes"}],
                }
            ]
        )
    )
    config = tmp_path / "examples" / "oracle.toml"
    config.parent.mkdir()
    config.write_text((EXAMPLES / "oracle_realunify.toml").read_text())
    result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2
    assert "API key" in result.output and "_API_KEY" in result.output
    assert not (tmp_path / "run").exists()


def test_the_minimal_strategy_is_at_most_20_lines() -> None:
    lines = (EXAMPLES / "minimal_strategy.py").read_text().splitlines()
    assert len([line for line in lines if line.strip()]) <= 20
