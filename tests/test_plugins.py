"""An installed package adds a benchmark, a scorer, a graph and a provider to composer.

The example package (tests/plugins/composer_example_plugin) declares the four as entry points
in its pyproject.toml. It is installed here as pip installs it, without pip (too slow for a
unit test): a `.dist-info` folder holding its metadata and `entry_points.txt`, on the import
path, where `importlib.metadata` finds it. The real CLI then runs in a subprocess.
"""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent / "plugins" / "composer_example_plugin"


@pytest.fixture
def installed(tmp_path: Path) -> dict[str, str]:
    """The environment of a Python where the example plug-in is installed."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    info = tmp_path / "site" / f"composer_example_plugin-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = []
    for group, entries in project["entry-points"].items():
        lines += [f"[{group}]", *(f"{name} = {target}" for name, target in entries.items()), ""]
    (info / "entry_points.txt").write_text("\n".join(lines))
    path = [str(info.parent), str(PLUGIN), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}


def composer(env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run the installed CLI; its standard output (and, after a blank line, its messages)."""
    done = subprocess.run(
        [sys.executable, "-m", "composer", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout if args[0] in ("list", "report") else f"{done.stdout}\n{done.stderr}"


def test_composer_lists_what_the_package_adds(installed: dict[str, str], tmp_path: Path) -> None:
    graphs = composer(installed, tmp_path, "list", "graphs").splitlines()
    assert any(line.split()[:2] == ["sketch-then-draw", "UEG"] for line in graphs), graphs
    assert any(line.startswith("direct ") for line in graphs)  # beside composer's own
    benchmarks = composer(installed, tmp_path, "list", "benchmarks")
    assert "synthetic-mini" in benchmarks and "World knowledge and commonsense" in benchmarks
    scorers = composer(installed, tmp_path, "list", "scorers").split()
    assert scorers[scorers.index("majority-of-checks") + 1] == (
        "composer_example_plugin.scorer:majority"
    )
    providers = composer(installed, tmp_path, "list", "providers").splitlines()
    assert any(
        line.startswith("echo ") and "composer_example_plugin.provider:EchoSpecialist" in line
        for line in providers
    ), providers


def test_a_run_uses_the_packages_benchmark_scorer_and_graph(
    installed: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "plugin.toml").write_text(
        """
[benchmark]
name = "synthetic-mini"
n_per_category = 1

[judge]
model = "symbolic/reasoner"
method = "majority-of-checks"

[systems.sketch]
ueg = "sketch-then-draw"
roles = { reasoner = "symbolic/reasoner", generator = "symbolic/painter" }
"""
    )
    output = composer(installed, tmp_path, "run", "plugin.toml", "--out", "run", "--quiet")
    assert "2 tasks run (2 ok)" in output
    report = json.loads(composer(installed, tmp_path, "report", "run", "--format", "json"))
    assert report["judge"] == "symbolic/reasoner (majority-of-checks)"
    ueg = report["systems"]["sketch"]["UEG"]
    assert set(ueg["by_category"]) == {"world_knowledge", "commonsense_reasoning"}
    assert ueg["counts"]["n"] == 2 and ueg["counts"]["failed"] == 0
    assert report["systems"]["sketch"]["graphs"] == {"UEG": "sketch-then-draw"}

    again = composer(installed, tmp_path, "run", "plugin.toml", "--out", "run", "--quiet")
    assert "0 tasks run" in again and "2 already done" in again  # the package's code is unchanged
