"""Running a plan: every task's graph (or stored or imported output), then its scorers.

`execute(plan, store, layer)` works through the plan's tasks with `config.concurrency`
workers; each result is written to the store the moment it exists. It is a function of the
plan, the store and the call layer: `Runner` adds loading the models, recording the
invocation and the run folder's lock.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import gc
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from composer.core.callsite import CallSite, current_site
from composer.core.errors import AgentOutputError, ComposerError, RefusalError
from composer.core.failure import Failure, message_of
from composer.core.images import ImageRef
from composer.core.instance import Axis, Instance
from composer.core.outputs import IMAGE, geu_output, ueg_output
from composer.evaluation.calls import CallLayer
from composer.evaluation.imported import ImportedOutputs
from composer.evaluation.plan import RunPlan, Task, jsonable
from composer.evaluation.scorers import Scorer, checked_score
from composer.evaluation.store import Judgment, Result, RunStore, Scored, Status
from composer.evaluation.store_writer import RunWriter
from composer.graphs.guard import (
    GraphFailure,
    TaskTimeout,
    containing_exits,
    stored_output,
    stream_strategy,
)


class MissingOutputError(ComposerError):
    """An imported system has no usable output for an instance: a `failed` result."""


class RunSummary(BaseModel):
    """What one invocation did."""

    run_dir: str
    tasks: int
    """Outputs produced (graph runs or imported outputs) in this invocation."""
    rejudged: int = 0
    """Stored outputs judged again (a new or changed judge), without running their graphs."""
    skipped: int
    statuses: dict[str, int]
    failed: int = 0
    """Tasks of the run (this invocation's or earlier ones') that stand failed: the run is
    complete only when this is 0."""
    calls_sent: int
    calls_cached: int
    requests_unanswered: int = 0
    """Requests sent that got no answer (errors, 429s, timeouts), besides `calls_sent`."""
    seconds: float


def instance_seed(run_seed: int, instance_id: str) -> int:
    """The seed every system gets for an instance: the same across systems, stable across runs."""
    digest = hashlib.sha256(f"{run_seed}/{instance_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31)


Progress = Callable[[str, Result], None]
"""Called with the system's name and each result as it is stored."""

Claim = Callable[[], Sequence[Task] | None]
"""The next tasks to run, one after another (one instance's, say); None once none is left."""


async def execute(
    plan: RunPlan,
    store: RunWriter,
    layer: CallLayer,
    *,
    on_progress: Progress | None = None,
    claim: Claim | None = None,
) -> dict[str, int]:
    """Run every task of `plan`; return the count of new outputs per status.

    With `claim`, the tasks run are those `claim` hands out instead (processes that share a
    plan take its work as they come to it: `composer.evaluation.split`); each claimed sequence
    is run in its order by one worker, so no task of it overlaps the one before.
    """
    return await _Execution(plan, store, layer).run(on_progress, claim)


def failed_count(plan: RunPlan, store: RunStore) -> int:
    """Tasks of this run file that stand failed in the store: outputs or judgments."""
    results, scores = store.progress()
    judge_ids = {s.id for s in plan.scorers}
    failed = 0
    for system in plan.systems:
        for instance in plan.instances:
            if instance.axis not in system.axes:
                continue
            for seed in system.seeds:
                key = (system.name, instance.id, seed)
                if results.get(key) == "failed":
                    failed += 1
                elif any(
                    j in judge_ids and st == "failed" for j, st in scores.get(key, {}).items()
                ):
                    failed += 1
    return failed


class _Execution:
    """One execution of a plan: its store and call layer, and the tasks' code."""

    def __init__(self, plan: RunPlan, store: RunWriter, layer: CallLayer) -> None:
        self.plan = plan
        self.store = store
        self.layer = layer
        self.scorers = {s.id: s for s in plan.scorers}
        self.left_running = False
        """Whether a task timed out: a plain function's thread of it may still be running."""

    async def run(self, on_progress: Progress | None, claim: Claim | None) -> dict[str, int]:
        """Work through the tasks (or what `claim` hands out); the statuses of the new outputs."""
        statuses: dict[str, int] = {}
        if claim is None:
            queue = collections.deque(self.plan.tasks)

            def claim() -> Sequence[Task] | None:
                return (queue.popleft(),) if queue else None

        async def worker() -> None:
            while (tasks := claim()) is not None:
                for task in tasks:
                    result = await self._run_task(task)
                    if task.output is None:
                        statuses[result.status] = statuses.get(result.status, 0) + 1
                    if on_progress is not None:
                        on_progress(task.system.name, result)

        workers = [
            asyncio.create_task(worker())
            for _ in range(min(self.plan.config.concurrency, len(self.plan.tasks)) or 1)
        ]
        # What exists now (modules, models, instances) lives until the run ends; frozen, the
        # collector stops walking it again and again while the run makes its short-lived objects,
        # which reference counting frees; the young generation is collected less often too.
        gc.freeze()
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], 10_000), *threshold[1:])
        stopped = True
        try:
            with containing_exits():  # a node's sys.exit() fails its instance, not the run
                await asyncio.gather(*workers)
            stopped = False
        finally:
            gc.set_threshold(*threshold)
            gc.unfreeze()
            for w in workers:
                w.cancel()
            if stopped or self.left_running:
                _leave_node_threads()
            await self.store.flush()  # the calls of unfinished tasks are kept for the rerun
        return statuses

    async def _run_task(self, task: Task) -> Result:
        system, instance = task.system, task.instance
        site = CallSite(system.name, instance.id, "")
        token = current_site.set(site)
        started = time.perf_counter()
        state: dict[str, Any] = {}
        status: Status = "failed"
        error: str | None = None
        failure: Failure | None = None
        try:
            if task.output is not None:
                state = _restore(task.output)
                status = "ok"
            elif system.imported is not None:
                state = self._imported_state(system.imported, instance)
                if not system.imported.scored_as_found:
                    _check_output(instance, state)
                status = "ok"
            else:
                inputs = {
                    "instance": instance.shown(),  # never the references
                    "seed": instance_seed(task.seed, instance.id),
                }
                async for chunk in stream_strategy(
                    system.graphs[instance.axis].graph,
                    instance.axis,
                    system.strategies[instance.axis].graph,
                    inputs,
                    system.contexts[instance.axis],
                    timeout_s=self.plan.config.task_timeout_s,
                    recursion_limit=self.plan.config.recursion_limit,
                ):
                    state = chunk
                status = "ok"  # its output was checked once it ended, by `stream_strategy`
        except RefusalError as exc:
            status, error = "refused", str(exc)
        except ComposerError as exc:
            error = str(exc)
            if isinstance(exc, GraphFailure):
                failure = exc.failure
                if isinstance(exc, TaskTimeout):
                    self.left_running = True
            elif task.output is None and system.imported is None:  # a call or an agent failed
                failure = _call_failure(system.graphs[instance.axis].graph, site.tally.steps, error)
            if isinstance(exc, AgentOutputError):  # a retry must ask again, not replay it
                self.layer.set_aside(site.tally, exc.raw, error)
        except Exception as exc:  # noqa: BLE001 - a bug in one graph must not end the run
            error = f"{type(exc).__name__}: {message_of(exc)}"
        finally:
            current_site.reset(token)
        latency = time.perf_counter() - started
        if task.output is None and system.imported is None:
            output, unstorable = stored_output(system.graphs[instance.axis].graph, state)
            if unstorable is not None and failure is None:  # the task fails, not the run
                status, error, failure = "failed", str(unstorable), unstorable.failure
        else:
            output = jsonable({k: v for k, v in state.items() if k not in ("instance", "seed")})
        scores: list[tuple[Scored, Sequence[Judgment]]] = []
        if status == "ok":
            scores = await self._score_all(system.name, instance, state, task.judges)
        result = Result(
            system=system.name,
            instance=instance.id,
            axis=instance.axis.value,
            category=instance.category,
            status=status,
            output=output,
            error=error,
            failure=failure,
            latency_s=latency,
            usage=site.tally.as_dict() if task.output is None else {},
            seed=task.seed,
        )
        await self.store.aput_result(
            result if task.output is None else None,
            scores,
            system=system.name,
            instance=instance.id,
            seed=task.seed,
        )
        # What the progress display sees: the headline score where there is one.
        applying = self.plan.scorers_of(instance)
        headline = applying[0].id if applying else None
        for scored, _ in scores:
            if scored.judge == headline and scored.status in ("failed", "refused"):
                result.status, result.error = scored.status, scored.error
        return result

    async def _score_all(
        self, system: str, instance: Instance, state: Mapping[str, Any], ids: Sequence[str]
    ) -> list[tuple[Scored, Sequence[Judgment]]]:
        scoring = [self._score_one(system, instance, state, self.scorers[i]) for i in ids]
        if len(scoring) == 1:  # most outputs: no task to create and schedule for one scorer
            return [await scoring[0]]
        return list(await asyncio.gather(*scoring))

    async def _score_one(
        self, system: str, instance: Instance, state: Mapping[str, Any], scorer: Scorer
    ) -> tuple[Scored, Sequence[Judgment]]:
        site = CallSite(system, instance.id, "judge")
        token = current_site.set(site)
        try:
            scored, judgments = checked_score(scorer, await scorer.score(instance, state))
        except RefusalError as exc:  # the judge declined: refused, as a model's refusal is
            refused = Scored(judge=scorer.id, status="refused", error=str(exc))
            return refused.model_copy(update={"usage": site.tally.as_dict()}), []
        except ComposerError as exc:
            failed = Scored(judge=scorer.id, status="failed", error=str(exc))
            return failed.model_copy(update={"usage": site.tally.as_dict()}), []
        except Exception as exc:  # noqa: BLE001 - a scorer's bug must not end the run
            raised = Failure.of_exception(exc, graph="")
            at = f" at {raised.location}" if raised.location else ""
            error = f"scorer {scorer.label!r} raised {raised.error}{at}"
            return Scored(judge=scorer.id, status="failed", error=error), []
        finally:
            current_site.reset(token)
        if site.tally.calls:
            scored = scored.model_copy(update={"usage": site.tally.as_dict()})
        return scored, judgments

    @staticmethod
    def _imported_state(imported: ImportedOutputs, instance: Instance) -> dict[str, Any]:
        if instance.id in imported.missing:
            raise MissingOutputError(
                f"imported output of {instance.id}", imported.missing[instance.id]
            )
        return dict(imported.outputs[instance.id])


def _leave_node_threads() -> None:
    """Give the event loop a fresh default executor; the old one's threads are left running.

    LangGraph runs a node that is a plain function in the loop's default executor, and a
    thread cannot be stopped: after Ctrl-C, or a task past `task_timeout_s`, one may still be
    running (a `time.sleep`, a blocking read). `asyncio.run` waits for the default executor's
    threads when it ends, so the run would not stop until that node returned; the old
    executor is not shut down, and its threads end as their functions do (the command-line
    program does not wait for them: `composer.cli.main`).
    """
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(thread_name_prefix="asyncio")
    )


def _call_failure(graph: str, steps: Sequence[Mapping[str, Any]], error: str) -> Failure:
    """Where a model call that failed (or a reply an agent could not read) stopped a graph.

    The node of the failed call, else of the last call made (whose reply the agent read).
    """
    failed = [s for s in steps if "error" in s]
    last = failed[-1] if failed else steps[-1] if steps else {}
    return Failure(graph=graph, node=str(last.get("node", "")), error=error)


def _check_output(instance: Instance, state: Mapping[str, Any]) -> None:
    """A graph's output must hold what its axis is scored on (a `ConfigError` if not)."""
    if instance.axis is Axis.GEU:
        geu_output(state)
    else:
        ueg_output(state)


def _restore(output: Mapping[str, Any]) -> dict[str, Any]:
    """A stored output back as a state: image references parsed again."""
    state = dict(output)
    if isinstance(state.get(IMAGE), str):
        state[IMAGE] = ImageRef.parse(state[IMAGE])
    return state
