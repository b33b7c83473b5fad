"""A node that never returns costs its instance, not the run, and Ctrl-C still stops the run.

`task_timeout_s` in the run file fails an instance whose graph runs past it, naming the node it
was running; the other instances and systems go on. A plain-function node runs in a thread,
which cannot be stopped: the run leaves it and ends, and so does Ctrl-C without a timeout. Each
blocked node here waits on a flag file the test writes when it is done, so no thread outlives
the test.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from strategy_runs import beside_builtin
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore

cli = CliRunner()

STRATEGY = '''
"""Blocks on the instance named BLOCKED, until the file RELEASE exists."""
import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import composer.graphs as cg

BLOCKED = "{blocked}"
RELEASE = Path({release!r})
STARTED = Path({started!r})


class State(cg.UEGState, total=False):
    prompt: str


@dataclass(frozen=True)
class Roles:
    generator: cg.Generator


def plan_blocking(state: State) -> dict:  # a plain function: LangGraph runs it in a thread
    if state["instance"].id == BLOCKED:
        STARTED.touch()
        while not RELEASE.exists():
            time.sleep(0.02)
    return {{"prompt": state["instance"].text}}


async def plan_waiting(state: State) -> dict:  # a coroutine: cancelled when time is up
    if state["instance"].id == BLOCKED:
        STARTED.touch()
        await asyncio.Event().wait()
    return {{"prompt": state["instance"].text}}


async def draw(state: State, runtime: cg.Runtime[Roles]) -> dict:
    image = await runtime.context.generator.generate(state["prompt"], seed=state["seed"])
    return {{"image": image}}


@cg.register_graph("stuck", axes=(cg.Axis.UEG,))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    plan = plan_blocking if options.get("blocking", True) else plan_waiting
    graph = cg.StateGraph(State, context_schema=Roles)
    graph.add_node("plan", plan)
    graph.add_node("draw", draw)
    graph.add_edge(cg.START, "plan")
    graph.add_edge("plan", "draw")
    return cg.Strategy("stuck", axis, graph.compile(), Roles)
'''


def write(tmp_path: Path, *, timeout: str, blocking: bool) -> Path:
    (tmp_path / "stuck.py").write_text(
        STRATEGY.format(
            blocked="UEG-1",
            release=str(tmp_path / "release"),
            started=str(tmp_path / "started"),
        )
    )
    run_file = tmp_path / "run.toml"
    graph = f'graph = "stuck.py:build", blocking = {str(blocking).lower()}'
    run_file.write_text(beside_builtin(graph, top=timeout))
    return run_file


def results(run_dir: Path) -> dict[tuple[str, str], Any]:
    store = RunStore(run_dir)
    try:
        return {(r.system, r.instance): r for r in store.results()}
    finally:
        store.close()


def run_with_timeout(tmp_path: Path, *, blocking: bool) -> tuple[Any, Path, float]:
    run_file = write(tmp_path, timeout="task_timeout_s = 1.5", blocking=blocking)
    run_dir = tmp_path / "run"
    started = time.monotonic()
    try:
        result = cli.invoke(app, ["run", str(run_file), "--out", str(run_dir), "--quiet"])
    finally:
        (tmp_path / "release").touch()  # the left thread ends
    return result, run_dir, time.monotonic() - started


def check_timed_out(result: Any, run_dir: Path) -> None:
    assert result.exit_code == 1, result.output  # one failed instance: incomplete
    assert "Traceback" not in result.output
    found = results(run_dir)
    assert {k: r.status for k, r in found.items()} == {
        ("mine", "UEG-0"): "ok",
        ("mine", "UEG-1"): "failed",
        ("builtin", "UEG-0"): "ok",
        ("builtin", "UEG-1"): "ok",
    }
    stuck = found[("mine", "UEG-1")]
    assert stuck.failure is not None and stuck.failure.node == "plan"
    assert stuck.failure.location.startswith("stuck.py:")
    assert stuck.error.startswith(
        "graph 'stuck.py:build', node 'plan': was still running when task_timeout_s = 1.5 s "
        "was up (its function is at stuck.py:"
    ), stuck.error
    assert (
        stuck.failure.error == "TaskTimeout: no output after task_timeout_s = 1.5 s (still running)"
    )
    assert (
        "mine / UEG-1 (seed 0): graph 'stuck.py:build', node 'plan' at stuck.py:" in result.output
    )


def test_a_plain_function_node_past_the_timeout_fails_its_instance_and_is_left(
    tmp_path: Path,
) -> None:
    result, run_dir, took = run_with_timeout(tmp_path, blocking=True)
    check_timed_out(result, run_dir)
    assert took < 60  # the node blocks until the test ends: the run did not wait for it


def test_a_coroutine_node_past_the_timeout_is_cancelled_and_fails_its_instance(
    tmp_path: Path,
) -> None:
    result, run_dir, _ = run_with_timeout(tmp_path, blocking=False)
    check_timed_out(result, run_dir)


def test_retry_failed_runs_the_timed_out_instance_again(tmp_path: Path) -> None:
    run_with_timeout(tmp_path, blocking=True)
    again = cli.invoke(
        app,
        [
            "run",
            str(tmp_path / "run.toml"),
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--retry-failed",
        ],
    )  # the release file is there now: the node returns
    assert again.exit_code == 0, again.output
    assert all(r.status == "ok" for r in results(tmp_path / "run").values())


def test_ctrl_c_stops_a_run_whose_plain_function_node_is_blocked(tmp_path: Path) -> None:
    """Without a timeout the blocked node holds its task; Ctrl-C stops the run at once (it
    waited for the node's thread, so neither the message nor the exit came)."""
    run_file = write(tmp_path, timeout="", blocking=True)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "composer", "run", str(run_file), "--out", str(run_dir)]
    process = subprocess.Popen(
        [*command, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "started").exists(), "the node never ran"
        time.sleep(0.5)  # the other instances finish meanwhile
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        (tmp_path / "release").touch()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Run the same command again to resume" in stderr
    found = results(run_dir)
    assert ("mine", "UEG-1") not in found  # not a failure: the run stopped before it ended
    assert found[("mine", "UEG-0")].status == "ok"
