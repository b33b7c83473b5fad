"""The runner: a run folder opened, a plan decided, the models loaded, the plan executed.

Each task is one graph invocation followed by scoring, once per run seed (`seeds = [...]`);
its result is written to the run store the moment it exists. Rerunning on the same run
directory skips finished results and replays cached calls, so a stopped run resumes where it
was and nothing done is paid for twice.

The work is two functions: `plan_run` (`composer.evaluation.plan`) returns a frozen `RunPlan`,
checked before any model call, and `execute` (`composer.evaluation.execute`) runs it against
the store and the call layer. `Runner` holds the run folder's side: its writer lock, the
store, the image store, the call layer, loading and releasing the models, and undoing what a
rejected run created.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from composer.core.config import RunConfig
from composer.core.errors import ComposerError
from composer.core.images import ImageStore
from composer.core.instance import Instance
from composer.evaluation.binding import BoundSystem, run_record, versions
from composer.evaluation.calls import CallLayer
from composer.evaluation.execute import (
    MissingOutputError,
    RunSummary,
    execute,
    failed_count,
    instance_seed,
)
from composer.evaluation.lock import CreatedFiles, RunFolderBusyError
from composer.evaluation.plan import RunPlan, Task, plan_run
from composer.evaluation.scorers import Scorer
from composer.evaluation.split import SplitRun
from composer.evaluation.store import Result
from composer.evaluation.store_writer import RunWriter
from composer.specialists.base import Specialist, load_all

__all__ = [
    "MissingOutputError",
    "RunSummary",
    "Runner",
    "instance_seed",
]


class Runner:
    """Runs a `RunConfig` into a run directory; see the module docstring.

    Everything that can be checked without a model call is checked in the constructor, which
    reads the run directory but writes nothing to it: a rejected run leaves the folder as it
    was (a folder it had to create is removed again).

    Example:
        >>> config = load_config("examples/demo.toml")  # doctest: +SKIP
        >>> with Runner(config, Path("runs/demo")) as runner:  # doctest: +SKIP
        ...     summary = asyncio.run(runner.run())
    """

    def __init__(
        self,
        config: RunConfig,
        run_dir: Path | str,
        *,
        on_progress: Callable[[str, Result], None] | None = None,
        retry_failed: bool = False,
        rerun: Sequence[str] = (),
        split: bool = False,
        split_when: int | None = None,
    ) -> None:
        """Open the run folder and plan the run; raise `ConfigError` before any model call.

        With `split`, a forked worker process shares the tasks on a second core
        (`composer.evaluation.split`: for local models bound by the CPU; nothing is forked where
        that is not safe). The worker is forked here and waits until `run` records the
        invocation, or later, once `split_when` (a file descriptor, such as the sentinel of a
        process that holds the second core) is readable; `close` stops it.
        """
        self.config = config
        self.run_dir = Path(run_dir)
        self.on_progress = on_progress
        self._created = CreatedFiles.before_run(self.run_dir)
        self._discard = False
        self._closed = False
        self.split: SplitRun | None = None
        """The forked worker that shares this run's tasks, where `split` forked one."""
        try:
            self.store = RunWriter(self.run_dir, lock=True)  # one writer per run folder
        except RunFolderBusyError:
            raise  # the folder is another process's: nothing in it is this run's to undo
        except BaseException:
            self._created.undo(None)
            raise
        self.images = ImageStore(self.run_dir / "images")
        self.layer = CallLayer(self.store, self.images, concurrency=config.concurrency)
        try:
            self.plan: RunPlan = plan_run(
                config,
                self.run_dir,
                self.store.reader,
                self.images,
                self.layer,
                retry_failed=retry_failed,
                rerun=rerun,
            )
            self.split = (
                SplitRun.start(self.plan, self.store, self.layer, when=split_when)
                if split
                else None
            )
        except BaseException:
            self.store.close()
            self._created.undo(self.images)
            raise

    # What the plan decided, as the runner's attributes (the CLI's progress display reads them).

    @property
    def instances(self) -> tuple[Instance, ...]:
        """The run's instances."""
        return self.plan.instances

    @property
    def systems(self) -> tuple[BoundSystem, ...]:
        """The bound systems."""
        return self.plan.systems

    @property
    def scorers(self) -> tuple[Scorer, ...]:
        """The scorers, the headline judge first."""
        return self.plan.scorers

    @property
    def specialists(self) -> dict[str, Specialist]:
        """Every model the run file binds, by name."""
        return dict(self.plan.specialists)

    @property
    def tasks(self) -> tuple[Task, ...]:
        """What this invocation will do."""
        return self.plan.tasks

    @property
    def skipped(self) -> int:
        """Tasks already done in the store."""
        return self.plan.skipped

    async def run(self) -> RunSummary:
        """Load the models, record the invocation, execute the plan; return counts."""
        plan = self.plan
        started = time.perf_counter()
        needed = [s for name, s in plan.specialists.items() if name in plan.needed]
        try:
            await load_all(needed)  # at the same time: the slowest sets the wait
        except ComposerError:
            # Nothing ran: a model that cannot load leaves the folder as it was.
            self._discard = True
            raise
        self.store.begin_run(
            config=plan.config.model_dump(mode="json"),
            versions=versions(),
            seed=plan.config.run_seeds[0],
            record=run_record(plan.specialists, needed),
            systems={s.name: (s.definition(), s.drawings) for s in plan.systems},
            judges=[(s.id, s.label, s.definition()) for s in plan.scorers],
            instances=plan.instances,
            rerun=plan.rerun,
            decisions=plan.decisions,
        )
        self._created.keep()
        try:
            if self.split is not None:
                statuses = await self.split.execute(
                    plan, self.store, self.layer, on_progress=self.on_progress
                )
            else:
                statuses = await execute(plan, self.store, self.layer, on_progress=self.on_progress)
        finally:
            for specialist in plan.specialists.values():
                await specialist.aclose()
        return RunSummary(
            run_dir=str(self.run_dir),
            tasks=sum(1 for t in plan.tasks if t.output is None),
            rejudged=sum(1 for t in plan.tasks if t.output is not None),
            skipped=plan.skipped,
            statuses=statuses,
            failed=self.failed_count(),
            calls_sent=self.layer.stats.sent,
            calls_cached=self.layer.stats.cached,
            requests_unanswered=self.layer.stats.unanswered,
            seconds=time.perf_counter() - started,
        )

    def failed_count(self) -> int:
        """Tasks of this run file that stand failed in the store: outputs or judgments."""
        return failed_count(self.plan, self.store.reader)

    def close(self, *, discard: bool = False) -> None:
        """Release the models and close the run store.

        `discard`: nothing ran, so leave the folder as it was found (what this run created
        is removed), as when a model cannot load.
        """
        if self._closed:
            return
        self._closed = True
        self._discard = self._discard or discard
        if self.split is not None:
            self.split.stop()  # before the store closes: no process writes the folder after
        for specialist in self.plan.specialists.values():
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
