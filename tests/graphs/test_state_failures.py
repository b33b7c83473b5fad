"""What no node returned still costs one instance, never the run.

Each node's return is checked as it ends (`test_strategy_failures.py`), but a graph's final state
can hold what no node returned: a reducer's result (a set), a value a node changed in place, or
LangGraph's record of an `interrupt()` (a human-in-the-loop pause, which a run cannot answer).
Each of them used to end the whole run with a traceback when the output was written; now each
fails its instance, the output is kept as far as the store can keep it, and the run goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from strategy_runs import beside_builtin
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore

cli = CliRunner()

STRATEGY = '''
"""A two-node UEG strategy whose graph ends with state the run store cannot keep."""
from dataclasses import dataclass
from typing import Annotated

from langgraph.types import interrupt

import composer.graphs as cg


def union(old, new):
    return set(old or ()) | set(new or ())


class State(cg.UEGState, total=False):
    prompt: str
    tags: Annotated[list, union]  # the reducer makes a set of it
    notes: list


@dataclass(frozen=True)
class Roles:
    generator: cg.Generator


async def plan(state: State) -> dict:
    return {{"prompt": state["instance"].text, "notes": []}}


async def draw(state: State, runtime: cg.Runtime[Roles]) -> dict:
    image = await runtime.context.generator.generate(state["prompt"], seed=state["seed"])
    bug = "{bug}"
    if bug == "set reducer":
        return {{"image": image, "tags": ["drawn"]}}
    if bug == "in place":
        state["notes"].append(object())  # a change LangGraph never sees as a return
    if bug == "interrupt":
        interrupt({{"question": "Is this image right?"}})
    return {{"image": image}}


@cg.register_graph("unkept", axes=(cg.Axis.UEG,))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    graph = cg.StateGraph(State, context_schema=Roles).add_sequence([plan, draw])
    return cg.Strategy("unkept", axis, graph.add_edge(cg.START, "plan").compile(), Roles)
'''


def run(tmp_path: Path, bug: str) -> tuple[Any, list[Any], list[Any]]:
    (tmp_path / "unkept.py").write_text(STRATEGY.format(bug=bug))
    (tmp_path / "run.toml").write_text(beside_builtin('graph = "unkept.py:build"'))
    run_dir = tmp_path / "run"
    result = cli.invoke(app, ["run", str(tmp_path / "run.toml"), "--out", str(run_dir), "--quiet"])
    store = RunStore(run_dir)
    try:
        results = list(store.results())
    finally:
        store.close()
    mine = [r for r in results if r.system == "mine"]
    return result, mine, [r for r in results if r.system == "builtin"]


@pytest.mark.parametrize(
    ("bug", "error", "kept"),
    [
        (
            "set reducer",
            "ended with builtins.set under 'tags' in its state, which the run store cannot keep",
            {"tags": "<builtins.set: not stored>"},
        ),
        (
            "in place",
            "ended with builtins.object under 'notes'[0] in its state",
            {"notes": ["<builtins.object: not stored>"]},
        ),
    ],
)
def test_state_no_node_returned_fails_its_instance_and_keeps_the_rest(
    tmp_path: Path, bug: str, error: str, kept: dict[str, Any]
) -> None:
    result, mine, builtin = run(tmp_path, bug)
    assert result.exit_code == 1, result.output  # incomplete, not a crash
    assert "Traceback" not in result.output
    assert [r.status for r in builtin] == ["ok", "ok"]
    assert [r.status for r in mine] == ["failed", "failed"]
    for r in mine:
        assert r.error.startswith(f"graph 'unkept.py:build': {error}"), r.error
        assert "Make reducers return plain data" in r.error
        assert r.failure is not None and r.failure.graph == "unkept.py:build"
        # What could be kept is: the prompt, the image drawn, the bad part named.
        assert r.output["prompt"] and r.output["image"].startswith("sha256:")
        assert {k: r.output[k] for k in kept} == kept


def test_a_node_calling_interrupt_fails_its_instance_naming_it(tmp_path: Path) -> None:
    result, mine, builtin = run(tmp_path, "interrupt")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert [r.status for r in builtin] == ["ok", "ok"]
    for r in mine:
        assert r.status == "failed"
        assert r.failure.node == "draw"
        draw_line = STRATEGY.splitlines().index(
            "async def draw(state: State, runtime: cg.Runtime[Roles]) -> dict:"
        )
        assert r.failure.location == f"unkept.py:{draw_line + 1}"
        assert r.failure.error == (
            "Paused: interrupt({'question': 'Is this image right?'}) waits for an answer a run "
            "cannot give"
        )
        assert "let the node decide on its own" in r.error
        assert "__interrupt__" not in r.output and r.output["prompt"]
