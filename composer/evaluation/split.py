"""A run's tasks on two cores: the parent process and one forked worker share the plan.

`SplitRun.start(plan, store, layer)` forks the worker once the plan is decided, before any
event loop runs; the worker waits. `SplitRun.execute(...)`, called by the parent once the
invocation is recorded, lets it go; then both take the plan's instances as they come to them
(`core.fork.Turns`: a process that finds its instances cheaper takes more of them, so both
end together), the parent counts the worker's results as they are stored (the progress
display sees every task), and then runs whatever the worker took and did not store (it
failed, or was killed) as a resume would: a task this invocation stored is not run again,
one it did not store is. A worker told to stop before it went writes nothing.

Each process runs whole tasks (graph, models, judges, store writes) on its own event loop and
its own SQLite connection to the run store (the parent forks with none open, and each opens
one after), into the same image folder; the parent keeps the folder's writer lock. The tasks
of one instance go to one process, and run there one after another in the plan's order:
systems that ask a model the same question about the same instance share that call (the
later one replays the first), as they do in one process, so the store holds the same rows
(a split run stopped part-way has whole instances done, every seed of each, where one process
has whole seeds done). Each process has its own call cache and the run's concurrency: this
suits local models bound by the CPU (the demo's symbolic ones), not a hosted API, whose rate
limits would be met twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, Pipe
from multiprocessing.process import BaseProcess

from composer.core.fork import Turns, fork_is_safe, start_forked
from composer.evaluation.calls import CallLayer, CallStats
from composer.evaluation.execute import Claim, Progress, execute
from composer.evaluation.plan import RunPlan, Task
from composer.evaluation.store import Result
from composer.evaluation.store_writer import RunWriter
from composer.specialists.base import load_all

_GO = "go"
"""The parent's word to the worker: the invocation is recorded, run your share."""

TaskKey = tuple[str, str, int]
"""A task's output: system, instance id and run seed (one task each in a plan)."""


def key_of(task: Task) -> TaskKey:
    """The output `task` writes: (system, instance id, run seed)."""
    return task.system.name, task.instance.id, task.seed


def instance_groups(tasks: Sequence[Task]) -> tuple[tuple[Task, ...], ...]:
    """Each instance's tasks in the plan's order; the instances in the order they first appear.

    One group is what a process takes at a time.
    """
    groups: dict[str, list[Task]] = {}
    for task in tasks:
        groups.setdefault(task.instance.id, []).append(task)
    return tuple(tuple(group) for group in groups.values())


def claimer(
    groups: Sequence[tuple[Task, ...]], turns: Turns, taken: list[int] | None = None
) -> Claim:
    """`execute`'s claim: the next group no process has taken (its number added to `taken`)."""

    def claim() -> tuple[Task, ...] | None:
        k = turns.take()
        if k is None:
            return None
        if taken is not None:
            taken.append(k)
        return groups[k]

    return claim


class SplitRun:
    """The parent's side of a run split with one forked worker; see the module docstring.

    Example:
        >>> split = SplitRun.start(plan, store, layer)  # doctest: +SKIP
        >>> statuses = asyncio.run(split.execute(plan, store, layer))  # doctest: +SKIP
    """

    def __init__(
        self,
        worker: BaseProcess,
        go: Connection,
        results: Connection,
        groups: tuple[tuple[Task, ...], ...],
        turns: Turns,
        when: int | None = None,
    ) -> None:
        """Hold a started worker; use `start` rather than this."""
        self.worker = worker
        self._go = go
        self._gone = False
        self._results = results
        self.groups, self.turns, self.when = groups, turns, when
        self.mine: list[int] = []
        """The groups this process has taken, by number."""
        self.worker_stats: CallStats | None = None
        """The worker's call counts, once it has finished."""

    @property
    def theirs(self) -> tuple[Task, ...]:
        """The tasks of every group this process has not taken: the worker's, once both ended."""
        mine = set(self.mine)
        return tuple(t for k, group in enumerate(self.groups) if k not in mine for t in group)

    @classmethod
    def start(
        cls, plan: RunPlan, store: RunWriter, layer: CallLayer, *, when: int | None = None
    ) -> SplitRun | None:
        """Fork the worker that shares `plan`'s tasks; None where that cannot be done.

        Not done where forking is not safe (`fork_is_safe`) or the plan has one instance. The
        parent's connection to the store is closed for the fork and opened again. With `when`
        (a file descriptor that becomes readable once the second core is free: the sentinel of
        a process that holds it), the worker starts then, and takes what the parent has not.
        """
        groups = instance_groups(plan.tasks)
        if len(groups) < 2 or not fork_is_safe():
            return None
        turns = Turns(len(groups))
        go_out, go_in = Pipe(duplex=False)
        results_out, results_in = Pipe(duplex=False)
        store.db.close()  # the child's SQLite then starts with no record of this one's locks
        try:
            worker = start_forked(
                _work,
                (plan, groups, turns, store, layer, go_out, results_in, (go_in, results_out)),
                "composer-run-worker",
            )
        finally:
            store.reconnect()
            go_out.close()  # the worker's ends, in this process
            results_in.close()
        if worker is None:
            go_in.close()
            results_out.close()
            return None
        return cls(worker, go_in, results_out, groups, turns, when)

    async def execute(
        self,
        plan: RunPlan,
        store: RunWriter,
        layer: CallLayer,
        *,
        on_progress: Progress | None = None,
    ) -> dict[str, int]:
        """Run the plan in both processes; return the count of new outputs per status.

        The worker's results reach `on_progress` as it stores them; afterwards the tasks it
        took that this invocation did not store are run here.
        """
        since = time.time()
        statuses: dict[str, int] = {}
        unconfirmed = {key_of(t): t for t in plan.tasks}  # the worker's, as it says it stored

        def count(system: str, result: Result) -> None:
            task = unconfirmed.pop((result.system, result.instance, result.seed), None)
            if task is not None and task.output is None:
                statuses[result.status] = statuses.get(result.status, 0) + 1
            if on_progress is not None:
                on_progress(system, result)

        loop = asyncio.get_running_loop()
        ended = self._receive(loop, count)
        if self.when is None:
            self._let_go()
        else:  # the worker joins once the second core is free, and takes what is left then
            loop.add_reader(self.when, self._let_go, loop)
        try:
            claim = claimer(self.groups, self.turns, self.mine)
            mine = await execute(plan, store, layer, on_progress=on_progress, claim=claim)
            if not self._gone:  # every instance is taken: it is let go without any
                self._go.close()
            await ended
        finally:
            loop.remove_reader(self._results.fileno())
            if self.when is not None:
                loop.remove_reader(self.when)
            self.stop()
        if self.worker_stats is not None:
            for field in dataclasses.fields(CallStats):
                added = getattr(layer.stats, field.name) + getattr(self.worker_stats, field.name)
                setattr(layer.stats, field.name, added)
        gone = [t for t in self.theirs if key_of(t) in unconfirmed]
        left = tuple(t for t in gone if not _stored(store, t, since))
        for result in _read_back(store, [t for t in gone if t not in left]):
            count(result.system, result)  # stored, but the worker ended before it said so
        if left:  # the worker stopped early: what it did not store is run here
            layer.reread_keys()  # the calls it stored are replayed, as on a resume
            more = await execute(
                dataclasses.replace(plan, tasks=left), store, layer, on_progress=on_progress
            )
            mine = _added(mine, more)
        return _added(mine, statuses)

    def _let_go(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Tell the worker to take instances (once)."""
        if loop is not None and self.when is not None:
            loop.remove_reader(self.when)
        if self._gone or self._go.closed:
            return
        self._gone = True
        try:
            self._go.send(_GO)
        except OSError:  # it has ended already: its tasks are left to this process
            pass

    def _receive(
        self, loop: asyncio.AbstractEventLoop, count: Callable[[str, Result], None]
    ) -> asyncio.Future[None]:
        """Read the worker's messages as they come; the future is done when it has ended."""
        ended: asyncio.Future[None] = loop.create_future()
        channel = self._results
        fd = channel.fileno()

        def read() -> None:
            try:
                while channel.poll():
                    message = channel.recv()
                    if isinstance(message, Result):
                        count(message.system, message)
                    elif isinstance(message, CallStats):
                        self.worker_stats = message
            except (EOFError, OSError):  # the worker has ended (finished, failed or killed)
                loop.remove_reader(fd)
                if not ended.done():
                    ended.set_result(None)

        loop.add_reader(fd, read)
        return ended

    def stop(self) -> None:
        """End the worker: told not to start if it has not, stopped if it still runs."""
        self._go.close()
        if self.worker.is_alive() and self.worker_stats is None:
            self.worker.terminate()
        self.worker.join()
        self._results.close()


def _stored(store: RunWriter, task: Task, since: float) -> bool:
    """Whether this invocation stored `task`'s work: its result, or all its judges' scores.

    That is, written at `since` or later by the wall clock (each row's `updated` time).
    """
    if task.output is None:
        row = store.db.execute(
            "SELECT updated FROM results WHERE system = ? AND instance = ? AND seed = ?",
            key_of(task),
        ).fetchone()
        return row is not None and row[0] >= since
    rows = store.db.execute(
        "SELECT judge, updated FROM scores WHERE system = ? AND instance = ? AND seed = ?",
        key_of(task),
    ).fetchall()
    updated = {judge: when for judge, when in rows}
    return all(updated.get(judge, since - 1) >= since for judge in task.judges)


def _read_back(store: RunWriter, tasks: Sequence[Task]) -> list[Result]:
    """The stored results of `tasks`, as a report reads them."""
    wanted = {key_of(t) for t in tasks}
    return [
        result
        for system in sorted({t.system.name for t in tasks})
        for result in store.reader.results(system)
        if (result.system, result.instance, result.seed) in wanted
    ]


def _added(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    """Two counts per status added."""
    total = dict(first)
    for status, n in second.items():
        total[status] = total.get(status, 0) + n
    return total


def _work(
    plan: RunPlan,
    groups: tuple[tuple[Task, ...], ...],
    turns: Turns,
    store: RunWriter,
    layer: CallLayer,
    go: Connection,
    results: Connection,
    parent_ends: tuple[Connection, ...],
) -> None:
    """In the worker: wait for the parent's word, then take groups, reporting each result.

    Any failure ends the worker quietly with exit code 1: the parent runs what it left and
    reports the error, if it comes again, itself. The parent's writer lock and its note are
    left alone (this process never closes the store; its exit closes what it holds).
    """
    for end in parent_ends:
        end.close()
    try:
        try:
            if go.recv() != _GO:
                return
        except (EOFError, OSError):  # the parent stopped before the run began: write nothing
            return
        store.reconnect()  # this process's own connection
        asyncio.run(_worker_run(plan, claimer(groups, turns), store, layer, results))
        store.db.close()
    except BaseException:  # noqa: BLE001 - reported by the parent, which runs what is left
        raise SystemExit(1) from None


async def _worker_run(
    plan: RunPlan, claim: Claim, store: RunWriter, layer: CallLayer, results: Connection
) -> None:
    """The worker's share of the run: its models loaded, the tasks it takes run, its counts."""
    needed = [s for name, s in plan.specialists.items() if name in plan.needed]
    await load_all(needed)
    try:
        await execute(
            plan,
            store,
            layer,
            on_progress=lambda _system, result: results.send(result),
            claim=claim,
        )
    finally:
        for specialist in plan.specialists.values():
            await specialist.aclose()
    results.send(layer.stats)
    results.close()
