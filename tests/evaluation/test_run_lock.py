"""One writer per run folder: a second `composer run` on a busy folder exits 2, writing nothing."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mockbench import config_text, write_fixture
from typer.testing import CliRunner

from composer.cli import app
from composer.core.config import load_config
from composer.evaluation.lock import WRITER_NOTE, RunFolderBusyError
from composer.evaluation.runner import Runner
from composer.evaluation.store import RunStore

cli = CliRunner()


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith("run.db")  # the live writer's own files
    }


def _wait_for(condition, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout_s
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_a_second_writer_is_refused_while_the_first_runs_and_not_after_it_dies(
    tmp_path: Path,
) -> None:
    data = write_fixture(tmp_path / "data")
    slow = tmp_path / "slow.toml"
    slow.write_text(config_text(data, latency_s=0.05).replace("concurrency = 4", "concurrency = 1"))
    run_dir = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-m", "composer.cli", "run", str(slow), "--quiet", "--out", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: (run_dir / WRITER_NOTE).exists() and (run_dir / "images").exists())
        before = _snapshot(run_dir)
        second = cli.invoke(app, ["run", str(slow), "--quiet", "--out", str(run_dir)])
        assert second.exit_code == 2, second.output
        message = " ".join(second.output.split())
        assert f"run folder {run_dir}: is being written by another composer process" in message
        assert f"pid {first.pid} on " in message and ", since " in message
        assert "--out" in message and "Traceback" not in second.output
        after = _snapshot(run_dir)
        # The second process wrote nothing: the files the first had then are unchanged, and
        # every file added since is the first process's (images it drew meanwhile).
        assert {k: v for k, v in after.items() if k in before} == before
        assert all(k.startswith("images/") for k in set(after) - set(before))
    finally:
        os.kill(first.pid, signal.SIGKILL)  # a crash: the OS frees the lock
        first.wait()
    resumed = cli.invoke(app, ["run", str(slow), "--quiet", "--out", str(run_dir)])
    assert resumed.exit_code in (0, 1), resumed.output  # 1: the fixture scripts a failed task
    assert not (run_dir / WRITER_NOTE).exists()  # released on exit
    store = RunStore(run_dir)
    assert len(list(store.results())) == 120
    store.close()


def test_two_runners_in_one_process(tmp_path: Path) -> None:
    data = write_fixture(tmp_path / "data")
    path = tmp_path / "three.toml"
    path.write_text(config_text(data))
    config = load_config(path)
    run_dir = tmp_path / "run"
    first = Runner(config, run_dir)
    with pytest.raises(RunFolderBusyError, match=f"pid {os.getpid()} on "):
        Runner(config, run_dir)
    reader = RunStore(run_dir)  # readers take no lock
    reader.close()
    first.close()
    Runner(config, run_dir).close()  # released by close


def test_a_rejected_new_folder_leaves_no_lock_note(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = tmp_path / "bad.toml"
    config.write_text('[benchmark]\npath = "/nonexistent"\n[systems.a]\nueg = "direct"\n')
    result = cli.invoke(app, ["run", str(config), "--quiet", "--out", str(run_dir)])
    assert result.exit_code == 2
    assert not run_dir.exists()
