"""A benchmark loader of one's own (a file, a plug-in) is checked like a run file.

`[benchmark] name = "mine.py:load"` runs the user's code before anything is written. What it
returns must be a list of instances (a generator too) under distinct, printable ids; a loader
that raises or returns anything else stops the run with one line naming the benchmark and what
was wrong, exit 2, and the run folder is never made. Before, each ended in a traceback, a
generator loaded nothing ("leave nothing to run"), and the same instance returned twice ran
twice under one id.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from composer.cli import app

cli = CliRunner()

LOADER = '''
"""The synthetic suite's world-knowledge prompts, returned as the case says."""
from composer.benchmarks.loaders import BENCHMARKS


def load(config, images, run_dir):
    suite = BENCHMARKS.get("synthetic")(config, images, run_dir)
    good = [i for i in suite if i.axis.value == "UEG"]
    {body}
'''

RUN = """
[benchmark]
name = "mine.py:load"
n_per_category = 2
categories = ["world_knowledge"]
[judge]
model = "symbolic/reasoner"
[systems.painter]
ueg = "direct"
roles = { model = "symbolic/painter" }
"""


def run(tmp_path: Path, body: str) -> tuple[int, str, Path]:
    (tmp_path / "mine.py").write_text(LOADER.format(body=body))
    (tmp_path / "run.toml").write_text(RUN)
    out = tmp_path / "out"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(out), "--quiet"])
    return result.exit_code, result.output, out


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'raise RuntimeError("no data here")',
            "load() raised RuntimeError: no data here at mine.py:9. Fix the loader",
        ),
        ("return None", "load() returned NoneType None. Return a list of Instance"),
        ('return good + [{"id": "x"}]', "load() returned dict {'id': 'x'} at [2]."),
        ("return []", "load() returned no instances."),
        ("return good + good[:1]", "instance 'UEG-0': is loaded twice"),
        (
            r'return [good[0].model_copy(update={"id": "UEG-0\n"})]',
            "instance [0]: has the id 'UEG-0\\n': ids name results, files and table rows.",
        ),
    ],
    ids=["raises", "none", "not an instance", "empty", "the same twice", "line break in id"],
)
def test_a_loader_that_returns_no_list_of_instances_stops_with_one_line(
    tmp_path: Path, body: str, message: str
) -> None:
    code, output, out = run(tmp_path, body)
    assert code == 2, output
    assert output.startswith("error benchmark 'mine.py:load'"), output
    assert message in output, output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1
    assert not out.exists()  # a rejected command writes nothing


def test_a_loader_may_return_a_generator(tmp_path: Path) -> None:
    code, output, _ = run(tmp_path, "return (i for i in good)")
    assert code == 0, output
    assert "2 tasks run (2 ok)" in output  # it used to load nothing: "leave nothing to run"
