"""The runner: validate every binding, load local models, then run (system x instance) tasks.

Each task is one graph invocation followed by judging, once per run seed (`seeds = [...]`);
its result is written to the run store the moment it exists. Rerunning on the same run
directory skips finished results and replays cached calls, so a stopped run resumes where it
was and nothing done is paid for twice.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from composer.core.callsite import CallSite, current_site
from composer.core.config import RunConfig
from composer.core.decisions import RunDecisions
from composer.core.errors import AgentOutputError, ComposerError, ConfigError, RefusalError
from composer.core.failure import Failure
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import Axis, Instance
from composer.core.outputs import IMAGE, geu_output, ueg_output
from composer.evaluation.binding import (
    Binding,
    BoundSystem,
    earlier_prompts_digests,
    run_record,
    versions,
)
from composer.evaluation.calls import CallLayer, TrackedSpecialist
from composer.evaluation.imported import ImportedOutputs
from composer.evaluation.lock import CreatedFiles, RunFolderBusyError
from composer.evaluation.scorers import (
    ChoiceReader,
    JudgeScorer,
    Scorer,
    UniMMMUJudged,
    UniMMMUProgrammatic,
)
from composer.evaluation.store import Judgment, Result, RunStore, Scored, Status
from composer.graphs.guard import GraphFailure, stream_strategy
from composer.specialists.base import Specialist, load_all


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
    seconds: float


def instance_seed(run_seed: int, instance_id: str) -> int:
    """The seed every system gets for an instance: the same across systems, stable across runs."""
    digest = hashlib.sha256(f"{run_seed}/{instance_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31)


def _jsonable(value: Any) -> Any:
    if isinstance(value, ImageRef):
        return value.uri
    if isinstance(value, BaseModel):
        return _jsonable(value.model_dump())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Task:
    """One unit of work: produce and judge an output, or judge a stored output again."""

    system: BoundSystem
    instance: Instance
    judges: tuple[str, ...]
    """Ids of the judges (UEG) or the choice scorer (GEU) that must score the output."""
    output: dict[str, Any] | None = None
    """A stored output to judge again; None: produce it first."""
    seed: int = 0
    """The run seed; the graph gets `instance_seed(seed, instance.id)`."""


class Runner(Binding):
    """Runs a `RunConfig` into a run directory; see the module docstring.

    Everything that can be checked without a model call is checked in the constructor, which
    reads the run directory but writes nothing to it: a rejected run leaves the folder as it
    was (a folder it had to create is removed again).

    Example:
        >>> runner = Runner(load_config("examples/demo.toml"), Path("runs/demo"))  # doctest: +SKIP
        >>> summary = asyncio.run(runner.run())  # doctest: +SKIP
    """

    def __init__(
        self,
        config: RunConfig,
        run_dir: Path | str,
        *,
        on_progress: Callable[[str, Result], None] | None = None,
        retry_failed: bool = False,
        rerun: Sequence[str] = (),
    ) -> None:
        """Validate everything that can be checked without a model call; raise `ConfigError`."""
        self.config = config
        self.run_dir = Path(run_dir)
        self.on_progress = on_progress
        self.retry_failed = retry_failed
        self.rerun = tuple(rerun)
        self._created = CreatedFiles.before_run(self.run_dir)
        self._discard = False
        self._closed = False
        self.specialists: dict[str, Specialist] = {}
        self.tracked: dict[str, TrackedSpecialist] = {}
        self._needed: set[str] = set()
        try:
            self.store = RunStore(self.run_dir, writer=True)  # one writer per run folder
        except RunFolderBusyError:
            raise  # the folder is another process's: nothing in it is this run's to undo
        except BaseException:
            self._created.undo(None)
            raise
        self.images = ImageStore(self.run_dir / "images")
        self.layer = CallLayer(self.store, self.images, concurrency=config.concurrency)
        try:
            unknown = [n for n in self.rerun if n not in config.systems]
            if unknown:
                raise ConfigError(
                    "--rerun",
                    f"names no system of the run file ({', '.join(map(repr, unknown))}).",
                    f"Systems: {', '.join(config.systems)}.",
                )
            self.instances = self._load_instances()
            self.systems = [self._bind(name, system) for name, system in config.systems.items()]
            self.judges, self.judge_models = self._bind_judges()
            self.scorers = self._bind_scorers()
            self.store.system_changes(
                {s.name: s.definition() for s in self.systems},
                rerun=self.rerun,
                same_prompts=earlier_prompts_digests(),
            )
            self._check_imported_outputs()
            self.store.instance_changes(self.instances)
            self.tasks, self.skipped = self._plan()
        except BaseException:
            self.store.close()
            self._created.undo(self.images)
            raise

    def _load_instances(self) -> list[Instance]:
        from composer.benchmarks.loaders import load_benchmark

        return load_benchmark(self.config, self.images, self.run_dir)

    def _check_imported_outputs(self) -> None:
        """Refuse an imported output that changed since it was judged, as a changed system.

        The stored score would describe other files.
        """
        stored = {(r.system, r.instance, r.seed): r for r in self.store.results()}
        for system in self.systems:
            if system.imported is None or system.name in self.rerun:
                continue
            for instance_id, output in system.imported.outputs.items():
                before = stored.get((system.name, instance_id, system.seeds[0]))
                if before is not None and before.status != "failed":
                    if before.output != _jsonable(output):
                        raise ConfigError(
                            f"system {system.name!r}",
                            f"imported output of {instance_id} differs from the one judged in "
                            f"{self.run_dir} (the files under {system.import_source['dir']} "
                            "changed).",
                            f"Judge the new files with --rerun {system.name}.",
                        )

    def _plan(self) -> tuple[list[Task], int]:
        """What this invocation must do, from what the store already holds."""
        results, scores = self.store.progress()
        if self.rerun:
            results = {k: v for k, v in results.items() if k[0] not in self.rerun}
            scores = {k: v for k, v in scores.items() if k[0] not in self.rerun}
        outputs: dict[tuple[str, str, int], dict[str, Any]] = {}
        if any(status == "ok" for status in results.values()):
            outputs = {
                (r.system, r.instance, r.seed): r.output
                for r in self.store.results()
                if r.status == "ok"
            }
        tasks: list[Task] = []
        skipped = 0
        # Seed by seed: a run stopped part-way has whole seeds done, and with one seed the
        # order is as it was.
        for seed in self.config.run_seeds:
            for system in self.systems:
                if seed not in system.seeds:
                    continue
                for instance in self.instances:
                    if instance.axis not in system.axes:
                        continue
                    key = (system.name, instance.id, seed)
                    wanted = tuple(s.id for s in self.scorers_of(instance))
                    status = results.get(key)
                    if status is None or (status == "failed" and self.retry_failed):
                        tasks.append(Task(system, instance, wanted, seed=seed))
                        continue
                    done = scores.get(key, {})
                    missing = tuple(
                        j
                        for j in wanted
                        if j not in done or (done[j] == "failed" and self.retry_failed)
                    )
                    if status == "ok" and missing:
                        tasks.append(
                            Task(system, instance, missing, output=outputs[key], seed=seed)
                        )
                    else:
                        skipped += 1
        return tasks, skipped

    async def run(self) -> RunSummary:
        """Run every unfinished task; return counts. Results are in the store as they finish."""
        started = time.perf_counter()
        needed = [s for name, s in self.specialists.items() if name in self._needed]
        try:
            await load_all(needed)  # at the same time: the slowest sets the wait
        except ComposerError:
            # Nothing ran: a model that cannot load leaves the folder as it was.
            self._discard = True
            raise
        judges = [(s.id, s.label, s.definition()) for s in self.scorers]
        self.store.begin_run(
            config=self.config.model_dump(mode="json"),
            versions=versions(),
            seed=self.config.run_seeds[0],
            record=run_record(self.specialists, needed),
            systems={s.name: (s.definition(), s.drawings) for s in self.systems},
            judges=judges,
            instances=self.instances,
            rerun=self.rerun,
            decisions=self.decisions(),
        )
        self._created.keep()
        statuses: dict[str, int] = {}
        queue: asyncio.Queue[Task] = asyncio.Queue()
        for task in self.tasks:
            queue.put_nowait(task)

        async def worker() -> None:
            while not queue.empty():
                task = queue.get_nowait()
                result = await self._run_task(task)
                if task.output is None:
                    statuses[result.status] = statuses.get(result.status, 0) + 1
                if self.on_progress is not None:
                    self.on_progress(task.system.name, result)

        workers = [
            asyncio.create_task(worker())
            for _ in range(min(self.config.concurrency, len(self.tasks)) or 1)
        ]
        # What exists now (modules, models, instances) lives until the run ends; frozen, the
        # collector stops walking it again and again while the run makes its short-lived objects,
        # which reference counting frees; the young generation is collected less often too.
        gc.freeze()
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], 10_000), *threshold[1:])
        try:
            await asyncio.gather(*workers)
        finally:
            gc.set_threshold(*threshold)
            gc.unfreeze()
            for w in workers:
                w.cancel()
            await self.store.flush()  # the calls of unfinished tasks are kept for the rerun
            for specialist in self.specialists.values():
                await specialist.aclose()
        return RunSummary(
            run_dir=str(self.run_dir),
            tasks=sum(1 for t in self.tasks if t.output is None),
            rejudged=sum(1 for t in self.tasks if t.output is not None),
            skipped=self.skipped,
            statuses=statuses,
            failed=self.failed_count(),
            calls_sent=self.layer.stats.sent,
            calls_cached=self.layer.stats.cached,
            seconds=time.perf_counter() - started,
        )

    def failed_count(self) -> int:
        """Tasks of this run file that stand failed in the store: outputs or judgments."""
        results, scores = self.store.progress()
        judge_ids = {s.id for s in self.scorers}
        failed = 0
        for system in self.systems:
            for instance in self.instances:
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
                ):
                    state = chunk
                _check_output(instance, state)
                status = "ok"
        except RefusalError as exc:
            status, error = "refused", str(exc)
        except ComposerError as exc:
            error = str(exc)
            failure = exc.failure if isinstance(exc, GraphFailure) else None
            if isinstance(exc, AgentOutputError):  # a retry must ask again, not replay it
                self.layer.set_aside(site.tally, exc.raw, error)
        except Exception as exc:  # noqa: BLE001 - a bug in one graph must not end the run
            error = f"{type(exc).__name__}: {exc}"
        finally:
            current_site.reset(token)
        latency = time.perf_counter() - started
        output = _jsonable({k: v for k, v in state.items() if k not in ("instance", "seed")})
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
        applying = self.scorers_of(instance)
        headline = applying[0].id if applying else None
        for scored, _ in scores:
            if scored.judge == headline and scored.status in ("failed", "refused"):
                result.status, result.error = scored.status, scored.error
        return result

    def decisions(self) -> RunDecisions:
        """What this run decided that its report needs (stored with the invocation)."""
        told = {i.output.images_told for i in self.instances if i.benchmark == "uni-mmmu"}
        return RunDecisions(
            parser=self.config.judge.parser,
            benchmark=self.config.benchmark.model_dump(mode="json"),
            scorers=tuple(s.id for s in self.scorers),
            k_told=None if not told else all(told),
        )

    def _bind_scorers(self) -> list[Scorer]:
        """The run's scorers: its judges (UEG), then the benchmarks' programmatic scorers."""
        scorers: list[Scorer] = [JudgeScorer(j, self.judge_models[j.id]) for j in self.judges]
        scorers.append(ChoiceReader())
        if any(i.benchmark == "uni-mmmu" for i in self.instances):
            scorers.append(UniMMMUProgrammatic(self.images))
            scorers += [UniMMMUJudged(j, self.judge_models[j.id], self.images) for j in self.judges]
        return scorers

    def scorers_of(self, instance: Instance) -> list[Scorer]:
        """The scorers that score `instance`, the headline one first."""
        return [s for s in self.scorers if s.applies(instance)]

    async def _score_all(
        self, system: str, instance: Instance, state: Mapping[str, Any], ids: Sequence[str]
    ) -> list[tuple[Scored, Sequence[Judgment]]]:
        by_id = {s.id: s for s in self.scorers}
        return list(
            await asyncio.gather(*(self._score_one(system, instance, state, by_id[i]) for i in ids))
        )

    async def _score_one(
        self, system: str, instance: Instance, state: Mapping[str, Any], scorer: Scorer
    ) -> tuple[Scored, Sequence[Judgment]]:
        site = CallSite(system, instance.id, "judge")
        token = current_site.set(site)
        try:
            scored, judgments = await scorer.score(instance, state)
        except RefusalError as exc:  # the judge declined: refused, as a model's refusal is
            refused = Scored(judge=scorer.id, status="refused", error=str(exc))
            return refused.model_copy(update={"usage": site.tally.as_dict()}), []
        except ComposerError as exc:
            failed = Scored(judge=scorer.id, status="failed", error=str(exc))
            return failed.model_copy(update={"usage": site.tally.as_dict()}), []
        except Exception as exc:  # noqa: BLE001 - a scorer's bug must not end the run
            error = f"{type(exc).__name__}: {exc}"
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

    def close(self) -> None:
        """Release the models and close the run store."""
        if self._closed:
            return
        self._closed = True
        for specialist in self.specialists.values():
            specialist.close()
        self.store.close()
        if self._discard:
            self._created.undo(self.images)

    def __enter__(self) -> Runner:
        """The runner itself: `with Runner(config, run_dir) as runner: await runner.run()`."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Release the models and close the run store, whatever happened in the block."""
        self.close()


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
