"""A run's summary with its judges' part computed in a forked child is `summarize`'s.

The fork happens in a fresh interpreter: nothing is forked beside other threads, and the test
process has other tests' threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore
from composer.report.summary import summarize

cli = CliRunner()

BESIDE = """
import json, sys
from pathlib import Path
import composer.core.fork as fork
import composer.report.summary_beside as beside
from composer.evaluation.store import RunStore

started, start = [], fork.start_forked
def spy(*args):
    started.append(start(*args))
    return started[-1]
fork.start_forked = spy
{before}
store = RunStore(Path(sys.argv[1]))
report = beside.summarize_beside(store)
store.close()
assert started and started[0] is not None, "nothing was forked"
Path(sys.argv[2]).write_text(json.dumps(report, sort_keys=True))
"""


def _in_a_fresh_process(code: str, run_dir: Path, out: Path) -> dict:
    """Run `code` on `run_dir` in a new interpreter; the summary it wrote to `out`."""
    done = subprocess.run(
        [sys.executable, "-c", code, str(run_dir), str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def _beside(run_dir: Path, out: Path, before: str = "") -> dict:
    return _in_a_fresh_process(BESIDE.format(before=before), run_dir, out)


def _demo(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    args = ["demo", "--out", str(run_dir), "--n-per-category", "1", "--quiet", "--no-uni-mmmu"]
    assert cli.invoke(app, args).exit_code == 0
    return run_dir


def _alone(run_dir: Path) -> dict:
    store = RunStore(run_dir)
    try:
        return json.loads(json.dumps(summarize(store), sort_keys=True))
    finally:
        store.close()


def test_the_judges_part_computed_beside_gives_the_summary_computed_alone(
    tmp_path: Path,
) -> None:
    run_dir = _demo(tmp_path)
    report = _beside(run_dir, tmp_path / "beside.json")
    assert len(report["judges"]["judges"]) == 2  # the demo has two judges: a part to share
    assert report == _alone(run_dir)


def test_a_child_that_fails_leaves_its_part_to_the_parent(tmp_path: Path) -> None:
    run_dir = _demo(tmp_path)
    failing = "def broken(*args):\n    raise SystemExit(3)\n\nbeside._judge_parts = broken\n"
    assert _beside(run_dir, tmp_path / "beside.json", failing) == _alone(run_dir)


PAIRS = """
import json, os, sys
from pathlib import Path
import composer.core.fork as fork
import composer.report.noise as noise
import composer.report.summary as summary
from composer.evaluation.store import RunStore

names, start = [], fork.start_forked
def spy(target, args, name):
    names.append(name)
    return start(target, args, name)
fork.start_forked = spy
summary.BESIDE_FROM = 0  # the demo at 1 per category is far below the size that forks
parent, real = os.getpid(), noise.bootstrapped
def bootstrapped(*args, **kwargs):
    if os.getpid() != parent and {fail}:
        raise SystemExit(3)
    return real(*args, **kwargs)
noise.bootstrapped = bootstrapped
store = RunStore(Path(sys.argv[1]))
report = summary.summarize(store)
store.close()
assert "composer-pairs" in names, names
Path(sys.argv[2]).write_text(json.dumps(report, sort_keys=True))
"""


def _pairs_beside(run_dir: Path, out: Path, *, fail: bool) -> dict:
    return _in_a_fresh_process(PAIRS.format(fail=fail), run_dir, out)


def test_the_bootstraps_computed_beside_give_the_summary_computed_alone(tmp_path: Path) -> None:
    run_dir = _demo(tmp_path)
    report = _pairs_beside(run_dir, tmp_path / "pairs.json", fail=False)
    assert report["paired"] and report["attribution"]  # something was computed beside
    assert report == _alone(run_dir)


def test_a_bootstrap_child_that_fails_leaves_them_to_the_parent(tmp_path: Path) -> None:
    run_dir = _demo(tmp_path)
    assert _pairs_beside(run_dir, tmp_path / "pairs.json", fail=True) == _alone(run_dir)
