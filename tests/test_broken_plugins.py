"""A broken plug-in is named as broken; it hides nothing else and ends no command in a traceback.

An installed package whose module raises as it is imported (a missing system library, a bug), or
whose entry point names a module that is not there, used to end `composer list graphs` and
`composer list benchmarks` in a traceback, so no entry at all could be listed. Now the listing
marks it unavailable and says why; a run that names it stops with one line, exit 2, writing
nothing. The package is "installed" as in `test_plugins.py`: a `.dist-info` folder on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ENTRY_POINTS = """[composer.graphs]
raising-graph = raising_plugin:build
absent-graph = absent_module:build

[composer.benchmarks]
raising-bench = raising_plugin:load
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    info = site / "broken_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (site / "raising_plugin.py").write_text('raise ImportError("needs libfoo.so")\n')
    path = [str(site), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}


def composer(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "composer", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_listings_mark_a_broken_plugin_and_list_the_rest(
    env: dict[str, str], tmp_path: Path
) -> None:
    graphs = composer(env, tmp_path, "list", "graphs")
    assert graphs.returncode == 0 and "Traceback" not in graphs.stderr, graphs.stderr
    lines = {line.split()[0]: line for line in graphs.stdout.splitlines()}
    assert (
        "unavailable: names 'raising_plugin:build', whose module raised ImportError: needs "
        "libfoo.so at raising_plugin.py:1" in lines["raising-graph"]
    )
    assert (
        "unavailable: names the module 'absent_module', which is not installed."
        in (lines["absent-graph"])
    )
    assert "decompose-then-generate" in lines  # composer's own are all still there
    benchmarks = composer(env, tmp_path, "list", "benchmarks")
    assert benchmarks.returncode == 0 and "Traceback" not in benchmarks.stderr
    assert "raising-bench unavailable: names 'raising_plugin:load'" in benchmarks.stdout
    assert "realunify" in benchmarks.stdout


def test_a_run_naming_a_broken_plugin_stops_with_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "run.toml").write_text(
        '[benchmark]\nname = "raising-bench"\n[judge]\nmodel = "symbolic/reasoner"\n'
        '[systems.s]\nueg = "direct"\nroles = { model = "symbolic/painter" }\n'
    )
    done = composer(env, tmp_path, "run", "run.toml", "--out", "out")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(
        "error [benchmark] name 'raising-bench': names 'raising_plugin:load', whose module "
        "raised ImportError: needs libfoo.so at raising_plugin.py:1 as it was imported."
    ), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
