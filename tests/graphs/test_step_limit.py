"""A graph that loops without end fails its instance at the step limit, naming the loop's nodes.

A conditional edge that never routes to END runs a graph until LangGraph's step limit (its
`recursion_limit`, 10,007 steps in LangGraph 1.2, about 20 s of a trivial node). The run file's
`recursion_limit` sets it; the failure names the nodes that ran most and where the one is
defined, and says how to end the loop, where LangGraph's own message points at a config key
composer's user never sees. The other instances and systems go on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strategy_runs import beside_builtin
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore

cli = CliRunner()

STRATEGY = '''
"""Loops on the instance named LOOPING: `check` sends it back to `plan` for ever."""
from dataclasses import dataclass

import composer.graphs as cg

LOOPING = "UEG-1"


class State(cg.UEGState, total=False):
    prompt: str
    rounds: int


@dataclass(frozen=True)
class Roles:
    generator: cg.Generator


async def plan(state: State) -> dict:
    return {"prompt": state["instance"].text, "rounds": state.get("rounds", 0) + 1}


async def check(state: State) -> dict:
    return {}


async def draw(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"image": await runtime.context.generator.generate(state["prompt"], seed=state["seed"])}


def route(state: State) -> str:
    return "plan" if state["instance"].id == LOOPING else "draw"


@cg.register_graph("loops", axes=(cg.Axis.UEG,))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    graph = cg.StateGraph(State, context_schema=Roles)
    graph.add_node("plan", plan)
    graph.add_node("draw", draw)
    graph.add_edge(cg.START, "plan")
    if options.get("two_nodes", False):
        graph.add_node("check", check)
        graph.add_edge("plan", "check")
        graph.add_conditional_edges("check", route, ["plan", "draw"])
    else:
        graph.add_conditional_edges("plan", route, ["plan", "draw"])
    return cg.Strategy("loops", axis, graph.compile(), Roles)
'''


def run(tmp_path: Path, *, two_nodes: bool) -> tuple[Any, dict[tuple[str, str], Any]]:
    (tmp_path / "loops.py").write_text(STRATEGY)
    run_file = tmp_path / "run.toml"
    graph = f'graph = "loops.py:build", two_nodes = {str(two_nodes).lower()}'
    run_file.write_text(beside_builtin(graph, top="recursion_limit = 40"))
    run_dir = tmp_path / "out"
    result = cli.invoke(app, ["run", str(run_file), "--out", str(run_dir), "--quiet"])
    store = RunStore(run_dir)
    try:
        return result, {(r.system, r.instance): r for r in store.results()}
    finally:
        store.close()


def test_a_node_that_loops_for_ever_fails_its_instance_at_the_limit_naming_it(
    tmp_path: Path,
) -> None:
    result, stored = run(tmp_path, two_nodes=False)
    assert result.exit_code == 1, result.output  # incomplete: one task failed
    looped = stored["mine", "UEG-1"]
    assert looped.status == "failed"
    assert looped.failure.node == "plan"
    plan_line = STRATEGY.splitlines().index("async def plan(state: State) -> dict:") + 1
    assert looped.failure.location == f"loops.py:{plan_line}"
    assert looped.failure.error == (
        "StepLimit: no END after recursion_limit = 40 steps (ran 'plan' 40 times)"
    )
    assert "make it end (route to END once done" in looped.error
    assert looped.output["rounds"] == 40  # what the loop had done is kept
    # The same graph's other instance, and the other system, are untouched.
    assert stored["mine", "UEG-0"].status == "ok"
    assert {r.status for (system, _), r in stored.items() if system == "builtin"} == {"ok"}
    assert "StepLimit: no END after recursion_limit = 40 steps" in result.output


def test_a_loop_of_two_nodes_names_both(tmp_path: Path) -> None:
    _, stored = run(tmp_path, two_nodes=True)
    looped = stored["mine", "UEG-1"]
    assert looped.failure.node == "plan, check"
    assert looped.failure.location == ""  # two functions: no one place
    assert looped.failure.error == (
        "StepLimit: no END after recursion_limit = 40 steps (ran 'plan' 20 times, 'check' 20 times)"
    )
