"""A judge's refusal is `refused`, not a failure (issue 25, class 14).

A content-policy refusal of a judge call is an answer of the judge about that output: the
instance is `refused` (counted as such in the report), the run is complete (exit 0), and since
the refusal is cached, `--retry-failed` leaves it as it is instead of asking again forever.
"""

from __future__ import annotations

import json
from pathlib import Path

from realunify_fixture import RUN_SYSTEMS, config, write_realunify
from typer.testing import CliRunner

from composer.cli import app

cli = CliRunner()


def _run(tmp: Path, *more: str) -> tuple[int, str]:
    result = cli.invoke(app, ["run", str(tmp / "run.toml"), "--out", str(tmp / "out"), *more])
    return result.exit_code, result.output


def _rows(tmp: Path) -> dict[str, dict[str, object]]:
    text = cli.invoke(app, ["report", str(tmp / "out"), "--format", "jsonl"]).stdout
    return {row["instance"]: row for row in map(json.loads, text.splitlines())}


def test_a_refused_judge_call_makes_the_instance_refused_and_the_run_complete(
    tmp_path: Path,
) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    text = config(data, RUN_SYSTEMS)
    # The judge declines the one question of UEG instance 1 ("Q-c?").
    text = text.replace('[models."mock/judge"]\n', '[models."mock/judge"]\nrefuse = "Q-c"\n', 1)
    (tmp_path / "run.toml").write_text(text)

    code, output = _run(tmp_path, "--quiet")
    assert code == 0, output  # refused is not failed: the run is complete
    assert "refused" in output and "incomplete" not in output

    rows = _rows(tmp_path)
    refused = [i for i, row in rows.items() if row["status"] == "refused"]
    assert len(refused) == 1 and rows[refused[0]]["axis"] == "UEG", rows
    assert "refused" in str(rows[refused[0]]["error"])
    # Sent in this run, not replayed: said as the model's own refusal, not a "cached call".
    assert str(rows[refused[0]]["error"]).startswith("mock/judge: refused")
    assert not [i for i, row in rows.items() if row["status"] == "failed"]

    report = json.loads(
        cli.invoke(app, ["report", str(tmp_path / "out"), "--format", "json"]).stdout
    )
    counts = report["systems"]["model"]["UEG"]["counts"]
    assert (counts["refused"], counts["failed"]) == (1, 0), counts

    code, output = _run(tmp_path, "--quiet", "--retry-failed")
    assert code == 0, output
    assert "0 calls sent" in output  # nothing to retry: the refusal is an answer, and cached
    assert _rows(tmp_path)[refused[0]]["status"] == "refused"
