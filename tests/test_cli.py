import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mockbench import config_text, write_fixture
from typer.testing import CliRunner

from composer.cli import app
from composer.core.errors import ConfigError
from composer.evaluation.store import RunStore

cli = CliRunner()


def test_list_and_graph() -> None:
    graphs = cli.invoke(app, ["list", "graphs"])
    assert graphs.exit_code == 0
    for name in ("direct", "decompose-then-generate", "generate-then-reason", "refine"):
        assert name in graphs.stdout
    assert "symbolic" in cli.invoke(app, ["list", "providers"]).stdout
    assert "realunify" in cli.invoke(app, ["list", "benchmarks"]).stdout
    drawing = cli.invoke(app, ["graph", "refine"])
    assert drawing.exit_code == 0 and "verify -.-> revise" in drawing.stdout
    assert cli.invoke(app, ["graph", "nope"]).exit_code == 2


def test_report_formats_to_stdout_and_files(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(config_text(write_fixture(tmp_path / "data")))
    run_dir = tmp_path / "run"
    assert (
        cli.invoke(
            app, ["run", str(config), "--out", str(run_dir), "--quiet", "--limit", "1"]
        ).exit_code
        == 0
    )
    markdown = cli.invoke(app, ["report", str(run_dir), "--format", "markdown"]).stdout
    assert markdown.startswith("| system | kind | mode | WK |")
    csv_path = tmp_path / "out" / "report.csv"
    assert (
        cli.invoke(
            app, ["report", str(run_dir), "--format", "csv", "--output", str(csv_path)]
        ).exit_code
        == 0
    )
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("system,kind,mode,WK") and len(lines) == 4
    assert lines[0].endswith(",parser,UEG judge")
    strict = json.loads(
        cli.invoke(app, ["report", str(run_dir), "--format", "json", "--parser", "strict"]).stdout
    )
    assert strict["parser"] == "strict"
    table = cli.invoke(app, ["report", str(run_dir)])
    assert table.exit_code == 0 and "uni-direct" in table.stdout


def test_a_finished_command_leaves_its_store_closed_and_its_output_whole(tmp_path: Path) -> None:
    """The console script ends with its heap frozen (no collector pass at teardown): nothing
    it wrote may depend on that pass. A store still open at exit would leave SQLite's
    write-ahead log beside run.db; the summary table is printed whole, the exit code kept."""
    config = tmp_path / "c.toml"
    config.write_text(config_text(write_fixture(tmp_path / "data")))
    run_dir = tmp_path / "run"
    commands = (["run", str(config), "--quiet", "--out", str(run_dir)], ["report", str(run_dir)])
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "composer", *command], capture_output=True, text=True
        )
        assert done.returncode == (1 if command[0] == "run" else 0), done.stderr  # one fails
        assert "Traceback" not in done.stderr
        assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith("run.db")) == [
            "run.db"
        ]
        assert "uni-direct" in done.stdout and "composed" in done.stdout
    store = RunStore(run_dir)
    assert sum(1 for _ in store.results()) == 120
    store.close()


@pytest.mark.parametrize(
    ("stop", "code", "said"),
    [(signal.SIGINT, 130, "stopped: "), (signal.SIGTERM, 143, "stopped (SIGTERM): ")],
)
def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(
    tmp_path: Path, stop: signal.Signals, code: int, said: str
) -> None:
    """Ctrl-C, and SIGTERM (a scheduler ending the job: it ended the run without a word)."""
    config = tmp_path / "slow.toml"
    config.write_text(
        config_text(write_fixture(tmp_path / "data"), latency_s=0.05).replace(
            "concurrency = 4", "concurrency = 1"
        )
    )
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "composer",
        "run",
        str(config),
        "--quiet",
        "--out",
        str(run_dir),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.1)
        if (run_dir / "run.db").exists():
            try:
                store = RunStore(run_dir)
            except ConfigError:  # the run has created run.db, not yet its tables
                continue
            done = sum(1 for _ in store.results())
            store.close()
            if done >= 5:
                break
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and "Run the same command again to resume" in stderr
    assert said in stderr
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 1, resumed.stderr  # one instance of the fixture fails by design
    assert "already done" in resumed.stderr
    store = RunStore(run_dir)
    assert sum(1 for _ in store.results()) == 120
    store.close()


def test_a_model_that_holds_the_run_below_its_concurrency_is_said(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    text = config_text(write_fixture(tmp_path / "data"))
    config.write_text(
        text.replace('[models."mock/uni"]\n', '[models."mock/uni"]\nmax_concurrency = 2\n')
    )
    result = cli.invoke(
        app,
        ["run", str(config), "--out", str(tmp_path / "run"), "--quiet", "--limit", "1"]
        + ["--concurrency", "8"],
    )
    assert result.exit_code == 0, result.output
    assert "note: mock/uni: at most 2 calls in flight (its max_concurrency), below the run's" in (
        result.stderr
    )
    assert "mock/reasoner" not in result.stderr  # no ceiling of its own: the run's 8


def test_a_system_that_answers_none_of_the_selection_is_said(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        "\n".join(
            [
                "[benchmark]",
                'name = "synthetic"',
                "n_per_category = 1",
                'categories = ["WK"]',  # a UEG category only
                "[judge]",
                'model = "symbolic/reasoner"',
                "[systems.ueg-side]",
                'ueg = "direct"',
                'roles = { model = "symbolic/naive-unified" }',
                "[systems.geu-side]",
                'geu = "direct"',
                'roles = { model = "symbolic/naive-unified" }',
            ]
        )
    )
    result = cli.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (
        "note: geu-side answers none of this run's instances (its axes: GEU; the run's: UEG): "
        "it runs nothing." in result.stderr
    )
    assert "ueg-side answers" not in result.stderr
    # With no system left that answers anything, nothing could run: refused, nothing written.
    alone = cli.invoke(
        app,
        ["run", str(config), "--out", str(tmp_path / "alone"), "--systems", "geu-side"],
    )
    assert alone.exit_code == 2 and "leave nothing to run" in alone.output
    assert not (tmp_path / "alone").exists()
