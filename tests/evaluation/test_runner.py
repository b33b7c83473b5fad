import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mockbench import EXPECTED, config_text, write_fixture
from typer.testing import CliRunner

from composer.cli import app
from composer.core.errors import ConfigError
from composer.evaluation.store import RunStore

cli = CliRunner()


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    data = write_fixture(tmp_path / "data")
    config = tmp_path / "three.toml"
    config.write_text(config_text(data))
    return config


def report_json(run_dir: Path) -> dict:
    result = cli.invoke(app, ["report", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_three_systems_match_hand_computed_numbers(bench: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(bench), "--out", str(run_dir), "--quiet"])
    # The fixture fails one instance on purpose: the run is incomplete, so the exit status is 1.
    assert result.exit_code == 1, result.output
    assert "1 tasks failed" in result.output and "--retry-failed" in result.output
    report = report_json(run_dir)
    for name, expected in EXPECTED.items():
        system = report["systems"][name]
        assert system["UEG"]["accuracy"] == pytest.approx(expected["UEG"])
        assert system["GEU"]["accuracy"] == pytest.approx(expected["GEU"])
        assert system["total"] == pytest.approx(expected["total"])
        assert system["UEG"]["accuracy_strict"] == pytest.approx(expected["UEG_strict"])
        assert system["UEG"]["counts"]["n"] == 24
        assert system["GEU"]["counts"]["n"] == 16
    composed = report["systems"]["composed"]
    assert composed["UEG"]["counts"]["failed"] == 1
    assert composed["GEU"]["counts"]["refused"] == 1
    assert composed["UEG"]["by_category"]["code_to_image"] == pytest.approx(75.0)
    assert composed["kind"] == "composed" and report["systems"]["uni-step"]["kind"] == "unified"
    assert report["systems"]["uni-direct"]["mode"] == "direct"


def test_jsonl_rows_keep_outputs_and_both_parsers(bench: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert cli.invoke(app, ["run", str(bench), "--out", str(run_dir), "--quiet"]).exit_code == 1
    rows = [
        json.loads(line)
        for line in cli.invoke(
            app, ["report", str(run_dir), "--format", "jsonl"]
        ).stdout.splitlines()
    ]
    assert len(rows) == 120
    step = {(r["system"], r["instance"]): r for r in rows}
    # "Based on the image, D": official reads B, strict reads D.
    geu_b = step[("uni-step", "GEU-1")]
    assert geu_b["correct_official"] is True and geu_b["correct_strict"] is False
    assert geu_b["output"]["response"] == "Based on the image, D"
    assert geu_b["output"]["edited_image"].startswith("sha256:")
    failed = step[("composed", "UEG-23")]
    assert failed["status"] == "failed" and "scripted" in failed["error"]
    rewrite = step[("composed", "UEG-1")]["output"]["rewrite"]
    assert rewrite == "draw 3 circles"  # "draw 1+2 circles", computed


def test_rerun_sends_no_call_again(bench: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert cli.invoke(app, ["run", str(bench), "--out", str(run_dir), "--quiet"]).exit_code == 1
    first = report_json(run_dir)
    again = cli.invoke(app, ["run", str(bench), "--out", str(run_dir), "--quiet"])
    assert again.exit_code == 1  # the fixture's failed instance stays failed
    assert "0 calls sent" in again.output
    assert report_json(run_dir) == first
    store = RunStore(run_dir)
    assert all(row["sent"] == 1 for row in store.call_rows())
    store.close()


def test_sigkill_half_way_then_resume_gives_identical_results(tmp_path: Path) -> None:
    data = write_fixture(tmp_path / "data")
    slow = tmp_path / "slow.toml"
    slow.write_text(config_text(data, latency_s=0.03).replace("concurrency = 4", "concurrency = 2"))
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    command = [sys.executable, "-m", "composer.cli", "run", str(slow), "--quiet", "--out"]
    # Exit 1: the fixture fails one instance on purpose.
    assert subprocess.run([*command, str(clean_dir)], capture_output=True).returncode == 1

    process = subprocess.Popen(
        [*command, str(killed_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.05)
        if (killed_dir / "run.db").exists():
            try:
                store = RunStore(killed_dir)
            except ConfigError:  # the run has created run.db, not yet its tables
                continue
            done = sum(1 for _ in store.results())
            store.close()
            if done >= 60:
                break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    store = RunStore(killed_dir)
    done_at_kill = sum(1 for _ in store.results())
    calls_at_kill = {row["key"] for row in store.call_rows()}
    store.close()
    assert 0 < done_at_kill < 120

    assert subprocess.run([*command, str(killed_dir)], capture_output=True).returncode == 1
    clean, resumed = RunStore(clean_dir), RunStore(killed_dir)
    fields = (
        "system",
        "instance",
        "status",
        "output",
        "correct_official",
        "correct_strict",
        "error",
    )

    def as_rows(store: RunStore) -> list[tuple[str, ...]]:
        return sorted(tuple(json.dumps(getattr(r, f)) for f in fields) for r in store.results())

    assert as_rows(resumed) == as_rows(clean)
    rows = resumed.call_rows()
    assert {row["key"] for row in rows} == {row["key"] for row in clean.call_rows()}
    assert calls_at_kill <= {row["key"] for row in rows}
    assert all(row["sent"] == 1 for row in rows), "a call completed before the kill was sent again"
    clean.close()
    resumed.close()


def test_results_record_per_node_call_sites(bench: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = cli.invoke(
        app, ["run", str(bench), "--out", str(run_dir), "--quiet", "--systems", "composed"]
    )
    assert result.exit_code == 1, result.output  # the fixture fails one instance on purpose
    store = RunStore(run_dir)
    nodes = {(row["system"], row["node"]) for row in store.call_rows()}
    store.close()
    assert {
        ("composed", "rewrite"),
        ("composed", "draw"),
        ("composed", "judge"),
        ("composed", "edit"),
        ("composed", "answer"),
    } <= nodes
