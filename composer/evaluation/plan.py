"""The run as a value: binding returns a frozen `RunPlan`, decided before any model call.

`plan_run` loads the instances, binds every system and judge to models (checking each role's
capability), chooses the scorers, checks the folder's stored systems, instances and imported
outputs, and plans the tasks from what the store already holds. It reads the run folder and
writes nothing. `composer.evaluation.execute` runs a plan; `Runner` is the two together, with
the folder's lock and clean-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from composer.core.config import RunConfig
from composer.core.decisions import RunDecisions
from composer.core.errors import ConfigError
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import STOP, Instance
from composer.evaluation.benchmark_scoring import benchmark_scorers
from composer.evaluation.binding import Binder, BoundSystem, earlier_prompts_digests
from composer.evaluation.calls import CallLayer, TrackedSpecialist
from composer.evaluation.judges import Judge
from composer.evaluation.scorers import ChoiceReader, JudgeScorer, Scorer
from composer.evaluation.store import RunStore
from composer.evaluation.store_changes import instance_changes, system_changes
from composer.specialists.base import Specialist


def jsonable(value: Any) -> Any:
    """`value` as the store keeps it: image references as their uris, models as dicts."""
    if isinstance(value, ImageRef):
        return value.uri
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
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


@dataclass(frozen=True)
class RunPlan:
    """Everything one invocation will do, decided and checked: a value, run by `execute`."""

    config: RunConfig
    run_dir: Path
    instances: tuple[Instance, ...]
    systems: tuple[BoundSystem, ...]
    judges: tuple[Judge, ...]
    judge_models: Mapping[str, TrackedSpecialist]
    scorers: tuple[Scorer, ...]
    specialists: Mapping[str, Specialist]
    """Every model the run file binds, by name (built, not loaded)."""
    needed: frozenset[str]
    """The models this run's instances need loaded."""
    tasks: tuple[Task, ...]
    skipped: int
    rerun: tuple[str, ...]
    decisions: RunDecisions

    def scorers_of(self, instance: Instance) -> list[Scorer]:
        """The scorers that score `instance`, the headline one first."""
        return [s for s in self.scorers if s.applies(instance)]

    def idle_systems(self) -> list[str]:
        """One line per system that answers none of the run's instances (it runs nothing).

        A system declares its axes; a selection of categories (or a benchmark) without them
        leaves it out of every table, which a user should hear about rather than find out.
        """
        present = {instance.axis for instance in self.instances}
        run_axes = ", ".join(sorted(a.value for a in present)) or "none"
        lines = []
        for system in self.systems:
            if system.axes & present:
                continue
            declared = sorted(a.value for a in system.graphs) or ["none found in its import"]
            lines.append(
                f"{system.name} answers none of this run's instances (its axes: "
                f"{', '.join(declared)}; the run's: {run_axes}): it runs nothing."
            )
        return lines


def plan_run(
    config: RunConfig,
    run_dir: Path,
    store: RunStore,
    images: ImageStore,
    layer: CallLayer,
    *,
    retry_failed: bool = False,
    rerun: Sequence[str] = (),
) -> RunPlan:
    """Decide what a run will do; raise `ConfigError` (or a `DataError`) before any model call.

    Reads `store` and writes nothing to it (images of the instances go to `images`).
    """
    from composer.benchmarks.loaders import load_benchmark

    unknown = [n for n in rerun if n not in config.systems]
    if unknown:
        raise ConfigError(
            "--rerun",
            f"names no system of the run file ({', '.join(map(repr, unknown))}).",
            f"Systems: {', '.join(config.systems)}.",
        )
    instances = tuple(load_benchmark(config, images, run_dir))
    binder = Binder(config, images, layer, instances)
    systems = tuple(binder.bind(name, system) for name, system in config.systems.items())
    judges, judge_models = binder.bind_judges(systems)
    scorers: tuple[Scorer, ...] = (
        *(JudgeScorer(j, judge_models[j.id]) for j in judges),
        ChoiceReader(),
        *benchmark_scorers(
            instances,
            config=config,
            judges=judges,
            judge_models=judge_models,
            images=images,
            model=binder.model,
        ),
    )
    system_changes(
        store,
        {s.name: s.definition() for s in systems},
        rerun=tuple(rerun),
        same_prompts=earlier_prompts_digests(),
    )
    _check_imported_outputs(store, systems, run_dir, tuple(rerun))
    instance_changes(store, instances)
    plan = RunPlan(
        config=config,
        run_dir=run_dir,
        instances=instances,
        systems=systems,
        judges=tuple(judges),
        judge_models=MappingProxyType(dict(judge_models)),
        scorers=scorers,
        specialists=MappingProxyType(binder.specialists),
        needed=frozenset(binder.needed),
        tasks=(),
        skipped=0,
        rerun=tuple(rerun),
        decisions=_decisions(config, instances, scorers, judges),
    )
    idle = plan.idle_systems()
    if systems and len(idle) == len(systems):
        # Nothing could run: refused before anything is written, not an empty run folder.
        raise ConfigError(
            "--systems / --instances",
            "leave nothing to run: " + " ".join(idle),
            "Select a system that answers these instances' axes, or other instances.",
        )
    tasks, skipped = _plan_tasks(plan, store, retry_failed=retry_failed, images=images)
    return dataclasses.replace(plan, tasks=tuple(tasks), skipped=skipped)


def _decisions(
    config: RunConfig,
    instances: Sequence[Instance],
    scorers: Sequence[Scorer],
    judges: Sequence[Judge],
) -> RunDecisions:
    """What this run decided that its report needs (stored with the invocation)."""
    # Where a system could be told how many images to draw: several wanted, or a loop the
    # model ends (`OutputSpec.images_told`); a run of one-image instances decides nothing here.
    told = {i.output.images_told for i in instances if i.output.images > 1 or i.request(STOP)}
    return RunDecisions(
        parser=config.judge.parser,
        benchmark=config.benchmark.model_dump(mode="json"),
        scorers=tuple(s.id for s in scorers),
        judges=tuple(j.id for j in judges),
        k_told=None if not told else all(told),
    )


def _check_imported_outputs(
    store: RunStore, systems: Sequence[BoundSystem], run_dir: Path, rerun: tuple[str, ...]
) -> None:
    """Refuse an imported output that changed since it was judged, as a changed system.

    The stored score would describe other files.
    """
    stored = {(r.system, r.instance, r.seed): r for r in store.results()}
    for system in systems:
        if system.imported is None or system.name in rerun:
            continue
        for instance_id, output in system.imported.outputs.items():
            before = stored.get((system.name, instance_id, system.seeds[0]))
            if before is not None and before.status != "failed":
                if before.output != jsonable(output):
                    raise ConfigError(
                        f"system {system.name!r}",
                        f"imported output of {instance_id} differs from the one judged in "
                        f"{run_dir} (the files under {system.import_source['dir']} "
                        "changed).",
                        f"Judge the new files with --rerun {system.name}.",
                    )


def _plan_tasks(
    plan: RunPlan, store: RunStore, *, retry_failed: bool, images: ImageStore | None = None
) -> tuple[list[Task], int]:
    """What this invocation must do, from what the store already holds."""
    results, scores = store.progress()
    if plan.rerun:
        results = {k: v for k, v in results.items() if k[0] not in plan.rerun}
        scores = {k: v for k, v in scores.items() if k[0] not in plan.rerun}
    # Every ok output as produced, whatever its judges made of it (one whose judge call failed
    # is judged again, not run again).
    outputs = store.outputs() if "ok" in results.values() else {}
    tasks: list[Task] = []
    skipped = 0
    # Seed by seed: a run stopped part-way has whole seeds done, and with one seed the
    # order is as it was.
    for seed in plan.config.run_seeds:
        for system in plan.systems:
            if seed not in system.seeds:
                continue
            for instance in plan.instances:
                if instance.axis not in system.axes:
                    continue
                key = (system.name, instance.id, seed)
                wanted = tuple(s.id for s in plan.scorers_of(instance))
                status = results.get(key)
                if status is None or (status == "failed" and retry_failed):
                    tasks.append(Task(system, instance, wanted, seed=seed))
                    continue
                done = scores.get(key, {})
                missing = tuple(
                    j for j in wanted if j not in done or (done[j] == "failed" and retry_failed)
                )
                if status == "ok" and missing:
                    output = outputs[key]
                    if retry_failed and images is not None and not images.holds_whole(output):
                        # Its image is gone or broken, so no judge can read it: run it again.
                        tasks.append(Task(system, instance, wanted, seed=seed))
                    else:
                        tasks.append(Task(system, instance, missing, output=output, seed=seed))
                else:
                    skipped += 1
    return tasks, skipped
