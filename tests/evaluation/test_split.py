"""A run's tasks split between the parent and a forked worker (`composer.evaluation.split`).

The split runs in a fresh interpreter: nothing is forked beside other threads, and the test
process has other tests' threads.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.runner import Runner
from composer.evaluation.split import instance_groups, key_of
from composer.evaluation.store_writer import RunWriter
from composer.synthetic.demo import demo_config

cli = CliRunner()

SPLIT_RUN = """
import asyncio, json, os, sys, time
from pathlib import Path
from composer.evaluation import split
from composer.evaluation.runner import Runner
from composer.synthetic.demo import demo_config

run_dir, facts = Path(sys.argv[1]), Path(sys.argv[2])
parent, in_parent = os.getpid(), []
real_execute = split.execute
PARENT_WAITS = {parent_waits}  # at most, for the worker to take an instance before the parent

async def execute(plan, store, layer, claim=None, **kwargs):
    if os.getpid() == parent:
        if claim is None:
            in_parent.extend(split.key_of(t) for t in plan.tasks)
        else:
            taken, deadline = runner.split.turns._taken, time.monotonic() + PARENT_WAITS
            while taken.value == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            taking = claim

            def claim():
                group = taking()
                in_parent.extend(split.key_of(t) for t in group or ())
                return group

    return await real_execute(plan, store, layer, claim=claim, **kwargs)

split.execute = execute
{worker}
runner = Runner(demo_config(n_per_category={n}), run_dir, split=True, split_when={when})
assert runner.split is not None, "nothing was forked"
{before_run}
seen = []
runner.on_progress = lambda system, result: seen.append(
    (result.system, result.instance, result.seed)
)
try:
    summary = asyncio.run(runner.run())
finally:
    runner.close()
worker = [split.key_of(t) for t in runner.split.theirs]  # what the parent did not take
facts.write_text(json.dumps({{
    "tasks": [split.key_of(t) for t in runner.tasks],
    "worker": worker,
    "in_parent": in_parent,
    "seen": seen,
    "summary": summary.model_dump(),
}}))
"""

DYING_WORKER = """
import os
real_worker_run = split._worker_run

class Unsaid:
    '''Sends the worker's results but its first: it dies after storing it, before saying so.'''
    def __init__(self, channel):
        self.channel, self.first = channel, True
    def send(self, message):
        if self.first and not isinstance(message, split.CallStats):
            self.first = False
            return
        self.channel.send(message)
    def close(self):
        self.channel.close()

async def dying(plan, claim, store, layer, results):
    first = claim()  # it takes one instance, runs its first three tasks and is killed
    once = [first[:3]]
    await real_worker_run(plan, lambda: once.pop() if once else None, store, layer, Unsaid(results))
    os._exit(9)

split._worker_run = dying
"""


def _split_run(
    run_dir: Path,
    worker: str = "",
    before_run: str = "",
    parent_waits: float = 10.0,
    n: int = 1,
    when: str = "None",
) -> dict:
    """Run the demo at `n` per category split in two, in a fresh interpreter; what it saw.

    The parent takes its first instance once the worker has taken one (at most `parent_waits`
    seconds later), so that each has a share whatever the machine's load.
    """
    facts = run_dir.parent / f"{run_dir.name}.json"
    code = SPLIT_RUN.format(
        worker=worker, before_run=before_run, parent_waits=parent_waits, n=n, when=when
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(run_dir), str(facts)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(facts.read_text())


def _one_process_run(run_dir: Path, n: int = 1) -> None:
    with Runner(demo_config(n_per_category=n), run_dir) as runner:
        asyncio.run(runner.run())


def _untimed(value: object) -> object:
    """A report without what differs between two runs of the same tasks: times and folders."""
    timed = ("latency", "seconds", "model_s", "wall_s", "updated", "created")
    if isinstance(value, dict):
        return {
            k: _untimed(v)
            for k, v in value.items()
            if k != "run_dir" and not any(t in k for t in timed)
        }
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _report(run_dir: Path) -> object:
    result = cli.invoke(app, ["report", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    return _untimed(json.loads(result.stdout))


def _rows(run_dir: Path) -> dict[str, list[str]]:
    """The store's results, scores, judgments and calls, times left out, in a fixed order."""
    db = sqlite3.connect(run_dir / "run.db")
    try:
        queries = {
            "results": "SELECT system, instance, seed, status, output, error, usage FROM results",
            "scores": "SELECT system, instance, seed, judge, status, correct_official, "
            "correct_strict, usage, channels FROM scores",
            "judgments": "SELECT * FROM judgments",
            "calls": "SELECT key, model, method, request, reply, usage, sent, system, instance, "
            "node FROM calls",
        }
        return {
            name: sorted(
                json.dumps(_untimed([_decoded(v) for v in row])) for row in db.execute(sql)
            )
            for name, sql in queries.items()
        }
    finally:
        db.close()


def _decoded(value: object) -> object:
    """A column's value, a JSON text decoded (so that its timings can be left out)."""
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    return value


def _keys(pairs: list[list[object]]) -> list[tuple[object, ...]]:
    return sorted(tuple(p) for p in pairs)


def test_a_split_run_stores_what_a_one_process_run_stores(tmp_path: Path) -> None:
    facts = _split_run(tmp_path / "split")
    _one_process_run(tmp_path / "one")
    tasks = _keys(facts["tasks"])
    assert 0 < len(facts["worker"]) < len(tasks)  # the worker ran a share of its own
    assert sorted(map(tuple, facts["in_parent"])) == sorted(
        set(tasks) - set(_keys(facts["worker"]))
    )
    assert _keys(facts["seen"]) == tasks  # the progress display counted every task once
    summary = facts["summary"]
    assert (summary["tasks"], summary["failed"], summary["statuses"]) == (
        len(tasks),
        0,
        {"ok": len(tasks)},
    )
    assert _rows(tmp_path / "split") == _rows(tmp_path / "one")
    assert _report(tmp_path / "split") == _report(tmp_path / "one")


def test_a_worker_that_dies_leaves_its_tasks_to_the_parent(tmp_path: Path) -> None:
    facts = _split_run(tmp_path / "split", worker=DYING_WORKER)
    _one_process_run(tmp_path / "one")
    tasks, worker = _keys(facts["tasks"]), [tuple(k) for k in facts["worker"]]
    # The worker stored its first three (the first unannounced); the parent ran the rest.
    parent_share = sorted(set(tasks) - set(worker))
    assert sorted(map(tuple, facts["in_parent"])) == sorted(parent_share + worker[3:])
    assert _keys(facts["seen"]) == tasks  # each counted once, the unannounced one too
    assert facts["summary"]["failed"] == 0
    assert _rows(tmp_path / "split") == _rows(tmp_path / "one")  # every task stored once


def test_an_instance_is_taken_whole_with_its_tasks_in_the_plans_order(tmp_path: Path) -> None:
    with Runner(demo_config(n_per_category=2), tmp_path / "run") as runner:
        groups = instance_groups(runner.tasks)
    assert sorted(key_of(t) for g in groups for t in g) == sorted(map(key_of, runner.tasks))
    assert all(len({t.instance.id for t in g}) == 1 for g in groups)
    assert len({g[0].instance.id for g in groups}) == len(groups)  # each instance once
    for group in groups:  # the plan's order kept within each
        assert [t for t in runner.tasks if t in group] == list(group)
    first_seen = list(dict.fromkeys(t.instance.id for t in runner.tasks))
    assert [g[0].instance.id for g in groups] == first_seen


def test_a_slower_process_takes_fewer_instances(tmp_path: Path) -> None:
    slow_worker = """
real_worker_run = split._worker_run

async def slow(plan, claim, store, layer, results):
    def slowly():
        time.sleep(0.2)  # as if its instances were far more costly
        return claim()
    await real_worker_run(plan, slowly, store, layer, results)

split._worker_run = slow
"""
    facts = _split_run(tmp_path / "split", worker=slow_worker, parent_waits=0.0, n=2)
    _one_process_run(tmp_path / "one", n=2)
    tasks, worker = _keys(facts["tasks"]), _keys(facts["worker"])
    assert 0 < len(worker) < len(tasks) / 2 < len(facts["in_parent"])  # not a fixed half
    assert _keys(facts["seen"]) == tasks
    assert _rows(tmp_path / "split") == _rows(tmp_path / "one")


def test_a_worker_gone_before_the_run_began_leaves_every_task_to_the_parent(
    tmp_path: Path,
) -> None:
    killed = "runner.split.worker.kill()\nrunner.split.worker.join()"
    facts = _split_run(tmp_path / "split", before_run=killed, parent_waits=0.0)
    _one_process_run(tmp_path / "one")
    assert sorted(map(tuple, facts["in_parent"])) == _keys(facts["tasks"])
    assert _keys(facts["seen"]) == _keys(facts["tasks"])
    assert _rows(tmp_path / "split") == _rows(tmp_path / "one")


def test_a_worker_reconnected_after_the_parent_migrated_the_store_writes_without_migrating(
    tmp_path: Path,
) -> None:
    RunWriter(tmp_path).close()
    db = sqlite3.connect(tmp_path / "run.db")  # the store as schema 4 left it
    db.execute("ALTER TABLE scores DROP COLUMN channels")
    db.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
    db.commit()
    db.close()
    worker = RunWriter(tmp_path)  # as forked: opened before the parent's first write
    parent = RunWriter(tmp_path)
    parent.put_result(None)  # the invocation's first write migrates the store
    worker.reconnect()  # what the worker does once the parent lets it go
    worker.put_result(None)  # migrating again would fail: "duplicate column name"
    columns = [
        row[1] for row in sqlite3.connect(tmp_path / "run.db").execute("PRAGMA table_info(scores)")
    ]
    assert columns.count("channels") == 1
    worker.close()
    parent.close()


HOLDER = """
import multiprocessing
forking = multiprocessing.get_context("fork")
holder = forking.Process(target=time.sleep, args=({seconds},), daemon=True)
holder.start()
{wait}
"""


def test_a_worker_told_to_wait_for_a_busy_core_takes_nothing_while_it_is_busy(
    tmp_path: Path,
) -> None:
    busy = HOLDER.format(seconds=120, wait="")  # holds the second core past the run's end
    facts = _split_run(tmp_path / "split", worker=busy, parent_waits=0.0, when="holder.sentinel")
    _one_process_run(tmp_path / "one")
    assert facts["worker"] == []  # it was let go without starting: the parent ran every task
    assert sorted(map(tuple, facts["in_parent"])) == _keys(facts["tasks"])
    assert _rows(tmp_path / "split") == _rows(tmp_path / "one")


def test_a_worker_told_to_wait_for_a_core_already_free_takes_a_share(tmp_path: Path) -> None:
    ended = HOLDER.format(seconds=0, wait="holder.join()")
    facts = _split_run(tmp_path / "split", worker=ended, when="holder.sentinel")
    _one_process_run(tmp_path / "one")
    assert 0 < len(facts["worker"]) < len(facts["tasks"])
    assert _keys(facts["seen"]) == _keys(facts["tasks"])
    assert _rows(tmp_path / "split") == _rows(tmp_path / "one")
