"""The run's decisions are stored typed, and the report reads them, not the raw run file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore


def report_json(run_dir: Path) -> dict[str, object]:
    result = CliRunner().invoke(app, ["report", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_decisions_are_stored_and_an_older_folder_reads_as_before(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cli = CliRunner()
    args = ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet", "--no-uni-mmmu"]
    assert cli.invoke(app, args).exit_code == 0
    store = RunStore(run_dir)
    decisions = store.decisions()
    assert decisions.parser == "official" and decisions.benchmark["name"] == "synthetic"
    assert decisions.scorers[0] == store.latest_run()["judges"][0]  # type: ignore[index]
    assert decisions.k_told is None
    store.close()
    before = report_json(run_dir)
    # A folder from before decisions were stored: they are derived from its run file.
    with sqlite3.connect(run_dir / "run.db") as db:
        db.execute("DELETE FROM meta WHERE key = 'decisions'")
    assert report_json(run_dir) == before


def test_the_headline_parser_is_the_stored_decision(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet", "--no-uni-mmmu"]
    assert CliRunner().invoke(app, args).exit_code == 0
    with sqlite3.connect(run_dir / "run.db") as db:
        db.execute(
            "UPDATE meta SET value = json_set(value, '$.parser', 'strict') WHERE key = 'decisions'"
        )
    assert report_json(run_dir)["parser"] == "strict"
