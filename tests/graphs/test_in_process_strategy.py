"""A strategy registered in-process (a notebook cell, a script) is versioned by its source.

Before, it was stored as `builtin` code: an edit to one of its node functions, then a rerun of
the same run folder, reused every stored result ("0 run, 2 already done").
"""

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from composer.cli import app
from composer.graphs.base import GRAPHS

CELL = '''
"""A notebook cell: a strategy of one node, and a setting the strategy does not use."""
from dataclasses import dataclass

import composer.graphs as cg

RUN_NOTE = "{note}"


class State(cg.UEGState, total=False):
    pass


@dataclass(frozen=True)
class Roles:
    generator: cg.Generator


async def draw(state, runtime):
    return {{"image": await runtime.context.generator.generate("{shape}", seed=state["seed"])}}


@cg.register_graph("cell-sketch", axes=(cg.Axis.UEG,))
def build(axis, options):
    graph = cg.StateGraph(State, context_schema=Roles).add_node(draw)
    return cg.Strategy("cell-sketch", axis, graph.add_edge(cg.START, "draw").compile(), Roles)
'''

CONFIG = """
[benchmark]
name = "synthetic"
n_per_category = 1
categories = ["WK", "CR"]

[judge]
model = "symbolic/reasoner"

[systems.mine]
ueg = "cell-sketch"
roles = { generator = "symbolic/painter" }
"""


@pytest.fixture
def run_cell(tmp_path: Path) -> Iterator[object]:
    """Run a cell's text as a notebook does: a fresh module each time, registering in-process."""
    runs = 0

    def run(shape: str, note: str = "first try") -> None:
        nonlocal runs
        runs += 1
        path = tmp_path / f"cell_{runs}.py"
        path.write_text(CELL.format(shape=shape, note=note))
        spec = importlib.util.spec_from_file_location(f"notebook_cell_{runs}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)

    yield run
    GRAPHS.unregister("cell-sketch")


def composer_run(config: Path, run_dir: Path, *more: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(run_dir), "--quiet", *more])
    assert result.exit_code == code, result.output
    return result.output


def test_an_edited_in_process_strategy_is_refused_until_rerun(run_cell, tmp_path: Path) -> None:
    config = tmp_path / "cell.toml"
    config.write_text(CONFIG)
    run_dir = tmp_path / "run"
    run_cell("a red circle")
    assert "2 tasks run" in composer_run(config, run_dir)

    run_cell("a red circle", note="a setting of the notebook, not of the strategy")
    assert "0 tasks run" in composer_run(config, run_dir)  # the same strategy: resumed

    run_cell("a blue square")  # the node function changed
    output = composer_run(config, run_dir, code=2)
    assert "system 'mine'" in output and "code" in output and "--rerun mine" in output

    assert "2 tasks run" in composer_run(config, run_dir, "--rerun", "mine")
    assert "0 tasks run" in composer_run(config, run_dir)  # the edited one is the stored one now
