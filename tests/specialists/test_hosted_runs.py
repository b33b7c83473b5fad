"""Whole runs against the hosted fakes: the paper's oracle (Gemini + GPT-Image-1), judged by a
fake Gemini; reruns send nothing; injected faults change no score; the key never leaks.
"""

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import MALFORMED, FakeGemini, FakeOpenAI, server_error, slow
from mockbench import write_fixture
from typer.testing import CliRunner

from composer.cli import app
from composer.core.config import load_config
from composer.evaluation.runner import Runner

CANARY = "sk-canary-7f3e9a0c5b2d4e6f8a1b"
cli = CliRunner()


def oracle_answer(prompt: str, captions: list[str]) -> str:
    """A scripted Gemini: rewrites sums (except k=3), judges captions, answers k<3 right."""
    found = re.search(r"image generation: draw (\d+)\+(\d+) (\w+) Please", prompt)
    if found:
        k, c, shape = int(found[1]), int(found[2]), found[3]
        return f"draw {k} {shape}" if k == 3 else f"draw {k + c} {shape}"
    found = re.search(r"image generation: (draw \d+ \w+) Please", prompt)
    if found:
        return found[1]
    found = re.search(r"Are there (\d+) (\w+)\?", prompt)
    if found:
        return "Yes." if captions == [f"draw {found[1]} {found[2]}"] else "No."
    if "Is there a dragon?" in prompt:
        return "No."
    found = re.search(r"question \w+ (\d)\?", prompt)
    if found:
        k = int(found[1])
        return "ABCD"[k] if k < 3 else "A"
    return "I cannot tell."


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeOpenAI, FakeGemini]]:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-e2e-key-0000")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeOpenAI() as openai, FakeGemini(oracle_answer) as gemini:
        yield openai, gemini


def write_config(tmp_path: Path, openai: FakeOpenAI, gemini: FakeGemini, calls: str = "") -> Path:
    data = write_fixture(tmp_path / "data")
    config = tmp_path / "oracle.toml"
    config.write_text(
        "\n".join(
            [
                "seed = 3",
                "concurrency = 8",
                "[benchmark]",
                f'path = "{data}"',
                "[judge]",
                'model = "gemini/gemini-2.5-pro"',
                "[systems.oracle]",
                'ueg = "decompose-then-generate"',
                'geu = "generate-then-reason"',
                'roles = { reasoner = "gemini/gemini-2.5-pro", '
                'generator = "openai/gpt-image-1", editor = "openai/gpt-image-1" }',
                '[models."openai/gpt-image-1"]',
                f'base_url = "{openai.url}/v1"',
                calls,
                '[models."gemini/gemini-2.5-pro"]',
                f'base_url = "{gemini.url}"',
                calls,
            ]
        )
    )
    return config


def report(run_dir: Path) -> dict:
    result = cli.invoke(app, ["report", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output
    return json.loads(result.stdout)


def scores(shown: dict) -> dict:
    """The scoring part of a JSON report (no timings)."""
    keep = ("accuracy", "accuracy_strict", "by_category", "counts")
    return {
        name: {
            "total": system["total"],
            **{axis: {k: system[axis][k] for k in keep} for axis in ("UEG", "GEU")},
        }
        for name, system in shown["systems"].items()
    }


def test_oracle_run_reports_and_reruns_for_free(
    fakes: tuple[FakeOpenAI, FakeGemini], tmp_path: Path
) -> None:
    openai, gemini = fakes
    config = write_config(tmp_path, openai, gemini)
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run_dir)])
    assert result.exit_code == 0, result.output
    oracle = report(run_dir)["systems"]["oracle"]
    assert oracle["UEG"]["accuracy"] == pytest.approx(75.0)
    assert oracle["GEU"]["accuracy"] == pytest.approx(75.0)
    assert oracle["total"] == pytest.approx(75.0)
    assert oracle["UEG"]["cost_usd"] > 0 and oracle["GEU"]["cost_usd"] > 0
    assert openai.count >= 30 and gemini.count >= 60
    assert CANARY not in result.output


def test_rerun_in_the_same_run_dir_sends_nothing(
    fakes: tuple[FakeOpenAI, FakeGemini], tmp_path: Path
) -> None:
    openai, gemini = fakes
    config = write_config(tmp_path, openai, gemini)
    run_dir = tmp_path / "run"
    assert cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"]).exit_code == 0
    sent = openai.count + gemini.count
    first = report(run_dir)
    # From scratch: every result forgotten, every call still in the cache.
    assert cli.invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet"]).exit_code == 0
    assert openai.count + gemini.count == sent
    assert scores(report(run_dir)) == scores(first)


def test_faults_change_no_score_and_are_counted(
    fakes: tuple[FakeOpenAI, FakeGemini], tmp_path: Path
) -> None:
    openai, gemini = fakes
    calls = "timeout_s = 1.0\nretry_initial_s = 0.01\nretry_max_s = 0.05\nmax_attempts = 6"
    clean_dir, faulty_dir = tmp_path / "clean", tmp_path / "faulty"
    config = load_config(write_config(tmp_path, openai, gemini, calls))
    clean = Runner(config, clean_dir)
    asyncio.run(clean.run())
    clean.close()
    for fake in fakes:
        fake.seed_faults([(server_error(500), 0.05), (slow(2.5), 0.05), (MALFORMED, 0.02)])
    faulty = Runner(config, faulty_dir)
    summary = asyncio.run(faulty.run())
    faulty.close()
    served = sum(sum(f.faults_served.values()) for f in fakes)
    assert served >= 5, [f.faults_served for f in fakes]
    # Every fault cost one retry (a loaded machine may add a timeout or two of its own).
    assert faulty.layer.stats.retried >= served
    assert set(summary.statuses) <= {"ok", "unscored", "failed", "refused"}
    assert sum(summary.statuses.values()) == 40
    assert scores(report(faulty_dir)) == scores(report(clean_dir))
    assert scores(report(clean_dir))["oracle"]["total"] == pytest.approx(75.0)
    # The report counts the retries the faults cost, per system.
    faulty_costs = report(faulty_dir)["costs"]
    assert sum(entry["retries"] for entry in faulty_costs.values()) == faulty.layer.stats.retried
    assert all(entry["retries"] == 0 for entry in report(clean_dir)["costs"].values())


def test_the_key_reaches_no_file_of_the_run(
    fakes: tuple[FakeOpenAI, FakeGemini], tmp_path: Path
) -> None:
    openai, gemini = fakes
    run_dir = tmp_path / "run"
    result = cli.invoke(
        app, ["run", str(write_config(tmp_path, openai, gemini)), "--out", str(run_dir)]
    )
    assert result.exit_code == 0 and CANARY not in result.output
    openai.enqueue(*[server_error(401)] * 40)  # errors carrying the key would be stored
    result = cli.invoke(app, ["run", str(tmp_path / "oracle.toml"), "--out", str(tmp_path / "r2")])
    assert CANARY not in result.output
    assert openai.requests[0].headers["authorization"] == f"Bearer {CANARY}"
    for root in (run_dir, tmp_path / "r2"):
        for path in root.rglob("*"):
            if path.is_file():
                assert CANARY.encode() not in path.read_bytes(), path
    for fmt in ("json", "jsonl", "markdown", "csv"):
        shown = cli.invoke(app, ["report", str(tmp_path / "r2"), "--format", fmt])
        assert CANARY not in shown.output
