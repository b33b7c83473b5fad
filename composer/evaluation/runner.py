"""The runner: validate every binding, load local models, then run (system x instance) tasks.

Each task is one graph invocation followed by judging, once per run seed (`seeds = [...]`);
its result is written to the run store the moment it exists. Rerunning on the same run
directory skips finished results and replays cached calls, so a stopped run resumes where it
was and nothing done is paid for twice.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hashlib
import importlib
import json
import os
import pkgutil
import platform
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from composer.core.callsite import CallSite, current_site
from composer.core.config import GraphRef, RunConfig, SystemConfig
from composer.core.errors import AgentOutputError, ComposerError, ConfigError, RefusalError
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import Axis, Instance
from composer.evaluation.calls import CallLayer, CallSettings, TrackedSpecialist
from composer.evaluation.imported import ImportedOutputs, read_imported
from composer.evaluation.judges import (
    GEU_SCORER,
    GEU_SCORER_ID,
    GEU_SCORER_LABEL,
    Judge,
    get_method,
    score_geu,
)
from composer.evaluation.lock import RunFolderBusyError
from composer.evaluation.store import Judgment, Result, RunStore, Scored, Status
from composer.specialists.base import Capability, Specialist, load_all
from composer.specialists.registry import create

_VERB = {
    Capability.UNDERSTAND: "understand images and text",
    Capability.GENERATE: "generate images",
    Capability.EDIT: "edit images",
}
_UNIFIED = frozenset({Capability.UNDERSTAND, Capability.GENERATE})
"""A model that both understands and draws is unified, whether or not it also edits (Janus)."""
_KIND = {
    Capability.UNDERSTAND: "an Understander",
    Capability.GENERATE: "a Generator",
    Capability.EDIT: "an Editor",
}


@dataclass
class BoundSystem:
    """A system ready to run: per axis, a built strategy and its roles bound to models.

    `graphs` and `bindings` cover every axis the system declares; `strategies` and `contexts`
    only the axes this run's instances need, so a subset of the benchmark (a category,
    `--limit`) checks and stores the same definition as the whole.
    """

    name: str
    strategies: dict[Axis, Any] = field(default_factory=dict)
    contexts: dict[Axis, Any] = field(default_factory=dict)
    bindings: dict[Axis, dict[str, str]] = field(default_factory=dict)
    graphs: dict[Axis, GraphRef] = field(default_factory=dict)
    code: dict[Axis, str] = field(default_factory=dict)
    """Per axis, what the graph's code is: `builtin` or the sha256 of a user strategy file."""
    drawings: dict[str, str] = field(default_factory=dict)
    """Per axis, the graph's Mermaid drawing (stored, so a report never rebuilds a graph)."""
    model_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    kind: str = "composed"
    imported: ImportedOutputs | None = None
    import_source: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    """The run seeds this system has outputs for: every seed of the run, or an imported
    folder's one seed."""

    @property
    def axes(self) -> set[Axis]:
        """The axes this system answers in this run."""
        return set(self.imported.axes) if self.imported else set(self.strategies)

    def definition(self) -> dict[str, Any]:
        """What makes this system what it is, for the run store.

        Its graphs with their code and options, role bindings, the models' options, the
        prompts, and composer's version.
        """
        if self.imported is not None:
            imported_axes = {
                axis.value: {"graph": "imported", "options": self.import_source, "roles": {}}
                for axis in sorted(self.imported.axes)
            }
            mode = "direct" if self.imported.mode == "direct" else "stepwise"
            return {"kind": self.kind, "mode": mode, "imported": True, "axes": imported_axes}
        axes: dict[str, Any] = {
            axis.value: {
                "graph": self.graphs[axis].graph,
                "options": self.graphs[axis].options,
                "roles": self.bindings[axis],
                "code": self.code[axis],
            }
            for axis in sorted(self.graphs)
        }
        return {
            "kind": self.kind,
            "mode": direct_or_stepwise(ref.graph for ref in self.graphs.values()),
            "axes": axes,
            "models": self.model_options,
            "prompts": prompts_digest(),
            "composer": composer_version(),
        }


def direct_or_stepwise(graphs: Iterable[str]) -> str:
    """A system is run directly when every axis runs the `direct` graph, else stepwise."""
    return "direct" if set(graphs) == {"direct"} else "stepwise"


@functools.cache
def prompts_digest() -> str:
    """A hash of every prompt the built-in agents send (`*_PROMPT` and `*_PROMPTS` constants).

    It covers the agents' modules and RealUnify's protocol module, where the paper's prompts
    live.
    """
    import composer.agents as agents_package

    names = [
        f"composer.agents.{info.name}"
        for info in sorted(pkgutil.iter_modules(agents_package.__path__), key=lambda m: m.name)
    ]
    texts: list[str] = []
    for module_name in [*names, "composer.benchmarks.realunify.protocol"]:
        module = importlib.import_module(module_name)
        for name in sorted(vars(module)):
            if name.endswith(("_PROMPT", "_PROMPTS")):
                label = module_name.rsplit(".", 1)[-1]
                texts.append(f"{label}.{name}={json.dumps(vars(module)[name])}")
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]


def composer_version() -> str:
    """The installed composer's version."""
    try:
        return version("unify-composer")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


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


def run_record(
    specialists: Mapping[str, Specialist], loaded: Iterable[Specialist] = ()
) -> dict[str, Any]:
    """The reproducibility record of one invocation, stored with it in the run store.

    composer's version, the libraries' versions, the machine, and per model where it ran
    (`Specialist.provenance`: device, dtype and attention kernel of a local model). The exact
    model ids hosted APIs reported come from the calls (`RunStore.reported_models`).
    """
    used = {id(s) for s in loaded}
    models = {
        name: specialist.provenance()
        for name, specialist in sorted(specialists.items())
        if id(specialist) in used
    }
    return {
        "composer": composer_version(),
        "versions": versions(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "models": {name: found for name, found in models.items() if found},
    }


def versions() -> dict[str, str]:
    """Versions of composer and the libraries whose behaviour a result may depend on."""
    found = {"python": platform.python_version()}
    for package in (
        "unify-composer",
        "langgraph",
        "pydantic",
        "pillow",
        "numpy",
        "torch",
        "diffusers",
        "transformers",
        "openai",
        "anthropic",
        "google-genai",
    ):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


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


class Runner:
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
        self._created = _Created.before_run(self.run_dir)
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
        self.layer = CallLayer(self.store, self.images)
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
            self.store.system_changes(
                {s.name: s.definition() for s in self.systems}, rerun=self.rerun
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

    def _model(self, name: str) -> TrackedSpecialist:
        if name not in self.tracked:
            settings, options = self._settings(name)
            if isinstance(options.get("api_key_file"), str):
                # Relative to the run file, like every other path in it. The stored system
                # definition keeps the path as written (never the key).
                options = {
                    **options,
                    "api_key_file": str(self.config.resolve(options["api_key_file"])),
                }
            try:
                specialist = create(name, options, images=self.images)
            except ValidationError as exc:
                first = exc.errors()[0]
                key = ".".join(str(p) for p in first["loc"])
                raise ConfigError(
                    f'[models."{name}"] {key}', f"{first['msg']}.", "Fix or remove that option."
                ) from None
            self.specialists[name] = specialist
            settings = _batch_aware(settings, specialist, self.config.models.get(name, {}))
            self.tracked[name] = self.layer.wrap(specialist, settings)
        return self.tracked[name]

    def _settings(self, name: str) -> tuple[CallSettings, dict[str, Any]]:
        try:
            return CallSettings.split(self.config.models.get(name, {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f'[models."{name}"] {first["loc"][0]}', f"{first['msg']}.") from None

    def _bind(self, name: str, system: SystemConfig) -> BoundSystem:
        from composer.graphs.base import build_strategy

        present = {i.axis for i in self.instances}
        bound = BoundSystem(name)
        if system.import_dir is not None:
            assert system.mode is not None
            folder = self.config.resolve(system.import_dir)
            bound.imported = read_imported(
                folder,
                system.mode,
                self.images,
                self.instances,
                is_subset=self._is_subset(),
            )
            bound.kind = system.kind or "unified"
            bound.import_source = {"dir": system.import_dir, "mode": system.mode}
            if system.seed is not None:  # only a seed set explicitly changes the definition
                bound.import_source["seed"] = system.seed
            bound.seeds = (self.config.run_seeds[0] if system.seed is None else system.seed,)
            return bound
        bound.seeds = self.config.run_seeds
        used_roles = {"model"}
        for axis, ref in ((Axis.UEG, system.ueg), (Axis.GEU, system.geu)):
            if ref is None:
                continue
            # Every declared graph is built and bound, whether or not this run has instances
            # of its axis: a run file valid for the benchmark stays valid for any subset.
            strategy = build_strategy(ref.graph, axis, ref.options, base_dir=self.config.base_dir)
            needed = strategy.required_roles()
            used_roles.update(needed)
            binding: dict[str, str] = {}
            models: dict[str, TrackedSpecialist] = {}
            for role, capability in needed.items():
                model_name = system.roles.get(role) or system.roles.get("model")
                where = f"system {name!r} role {role!r}"
                if model_name is None:
                    raise ConfigError(
                        where,
                        f"is not bound (graph {ref.graph!r} needs {_describe_roles(needed)}).",
                        f'Add {role} = "provider/model" to [systems.{name}.roles], '
                        'or model = "..." to bind every role to one model.',
                    )
                model = self._model(model_name)
                if not model.supports(capability):
                    kinds = " and ".join(_KIND[c] for c in sorted(model.capabilities)) or "nothing"
                    raise ConfigError(
                        where,
                        f"{model_name!r} cannot {_VERB[capability]} (it is {kinds}).",
                        _capability_fix(model_name, capability),
                    )
                binding[role] = model_name
                models[role] = model
            bound.bindings[axis] = binding
            bound.graphs[axis] = ref
            bound.code[axis] = strategy_code(ref.graph, self.config.base_dir)
            bound.drawings[axis.value] = strategy.mermaid()
            if axis in present:
                bound.strategies[axis] = strategy
                bound.contexts[axis] = strategy.roles(**models)
                self._needed.update(binding.values())
        names = sorted({m for binding in bound.bindings.values() for m in binding.values()})
        bound.model_options = {n: self._settings(n)[1] for n in names}
        if len(names) > 1:
            bound.kind = "composed"
        elif names and _UNIFIED <= self.tracked[names[0]].capabilities:
            bound.kind = "unified"
        else:
            bound.kind = "specialist"
        unknown = set(system.roles) - used_roles
        if unknown:
            raise ConfigError(
                f"[systems.{name}.roles]",
                f"binds {', '.join(sorted(unknown))}, which no graph of this system has.",
                "Check the role names (see composer graph NAME).",
            )
        return bound

    def _is_subset(self) -> bool:
        bench = self.config.benchmark
        return bench.categories is not None or bench.limit is not None

    def _bind_judges(self) -> tuple[list[Judge], dict[str, TrackedSpecialist]]:
        refs = self.config.judge.judges()
        declares_ueg = any(
            Axis.UEG in s.graphs or (s.imported is not None and Axis.UEG in s.imported.axes)
            for s in self.systems
        )
        if not declares_ueg:
            return [], {}
        if not refs:
            raise ConfigError(
                "[judge] model",
                "is not set, and UEG outputs need a judge.",
                'Add [judge] model = "gemini/gemini-2.5-pro" (the paper\'s judge) '
                'or an offline one such as "symbolic/reasoner".',
            )
        judges: list[Judge] = []
        models: dict[str, TrackedSpecialist] = {}
        for position, ref in enumerate(refs):
            where = "[judge] model" if position == 0 else f"[judge] extra[{position - 1}]"
            model = self._model(ref.model)
            if not model.supports(Capability.UNDERSTAND):
                raise ConfigError(where, f"{ref.model!r} cannot understand images.", "Bind a VLM.")
            method = get_method(ref.method, base_dir=self.config.base_dir)
            judge = Judge(ref.model, method, ref.options, self._settings(ref.model)[1])
            if any(j.id == judge.id for j in judges):
                raise ConfigError(where, f"repeats the judge {judge.label!r}.", "Remove one.")
            judges.append(judge)
            models[judge.id] = model
        if any(Axis.UEG in s.axes for s in self.systems):
            self._needed.update(j.model for j in judges)
        return judges, models

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
        judge_ids = tuple(j.id for j in self.judges)
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
                    wanted = judge_ids if instance.axis is Axis.UEG else (GEU_SCORER_ID,)
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
        judges = [(j.id, j.label, j.definition()) for j in self.judges]
        judges.append((GEU_SCORER_ID, GEU_SCORER_LABEL, dict(GEU_SCORER)))
        self.store.begin_run(
            config=self.config.model_dump(mode="json"),
            versions=versions(),
            seed=self.config.run_seeds[0],
            record=run_record(self.specialists, needed),
            systems={s.name: (s.definition(), s.drawings) for s in self.systems},
            judges=judges,
            instances=self.instances,
            rerun=self.rerun,
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
        judge_ids = {j.id for j in self.judges} | {GEU_SCORER_ID}
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
                    "instance": instance,
                    "seed": instance_seed(task.seed, instance.id),
                }
                async for chunk in system.strategies[instance.axis].graph.astream(
                    inputs, context=system.contexts[instance.axis], stream_mode="values"
                ):
                    state = chunk
                _check_output(instance, state)
                status = "ok"
        except RefusalError as exc:
            status, error = "refused", str(exc)
        except ComposerError as exc:
            error = str(exc)
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
            scores = await self._judge_all(system.name, instance, state, task.judges)
        result = Result(
            system=system.name,
            instance=instance.id,
            axis=instance.axis.value,
            category=instance.category,
            status=status,
            output=output,
            error=error,
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
        headline = self.judges[0].id if instance.axis is Axis.UEG and self.judges else None
        for scored, _ in scores:
            if scored.judge in (headline, GEU_SCORER_ID) and scored.status == "failed":
                result.status, result.error = "failed", scored.error
        return result

    async def _judge_all(
        self, system: str, instance: Instance, state: Mapping[str, Any], judge_ids: Sequence[str]
    ) -> list[tuple[Scored, Sequence[Judgment]]]:
        if instance.axis is Axis.GEU:
            score = score_geu(state["response"], instance.answer or "")
            scored = Scored(
                judge=GEU_SCORER_ID,
                status="ok",
                correct_official=score.official,
                correct_strict=score.strict,
            )
            return [(scored, [])]
        by_id = {j.id: j for j in self.judges}
        return list(
            await asyncio.gather(
                *(self._judge_one(system, instance, state["image"], by_id[j]) for j in judge_ids)
            )
        )

    async def _judge_one(
        self, system: str, instance: Instance, image: ImageRef, judge: Judge
    ) -> tuple[Scored, Sequence[Judgment]]:
        site = CallSite(system, instance.id, "judge")
        token = current_site.set(site)
        try:
            score = await judge.judge(self.judge_models[judge.id], image, instance.checks)
        except ComposerError as exc:
            failed = Scored(judge=judge.id, status="failed", error=str(exc))
            return failed.model_copy(update={"usage": site.tally.as_dict()}), []
        except Exception as exc:  # noqa: BLE001 - a judge's bug must not end the run
            error = f"{type(exc).__name__}: {exc}"
            return Scored(judge=judge.id, status="failed", error=error), []
        finally:
            current_site.reset(token)
        scored = Scored(
            judge=judge.id,
            status="ok",
            correct_official=score.official,
            correct_strict=score.strict,
            usage=site.tally.as_dict(),
        )
        return scored, score.judgments

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


def _check_output(instance: Instance, state: Mapping[str, Any]) -> None:
    """A graph's output must hold what its axis is scored on."""
    if instance.axis is Axis.GEU:
        if not isinstance(state.get("response"), str):
            raise ConfigError(
                "graph output",
                "has no 'response' text for a GEU instance.",
                "A GEU graph must set state['response'].",
            )
    elif not isinstance(state.get("image"), ImageRef):
        raise ConfigError(
            "graph output",
            "has no 'image' for a UEG instance.",
            "A UEG graph must set state['image'].",
        )


def _restore(output: Mapping[str, Any]) -> dict[str, Any]:
    """A stored output back as a state: image references parsed again."""
    state = dict(output)
    if isinstance(state.get("image"), str):
        state["image"] = ImageRef.parse(state["image"])
    return state


def strategy_code(graph: str, base_dir: Path) -> str:
    """What a graph's code is: `builtin`, or the sha256 of a user strategy file.

    A built-in graph is versioned with composer and the prompts (see `definition`).
    """
    if ".py:" not in graph:
        return "builtin"
    path = Path(graph.rpartition(":")[0]).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class _Created:
    """What a run folder held before this run, so that a rejected run removes what it added.

    That is new files and folders, and images it stored in an image folder it found.
    """

    run_dir: Path
    before: set[str] | None
    kept: bool = False

    @classmethod
    def before_run(cls, run_dir: Path) -> _Created:
        """Note what `run_dir` holds now (None: it does not exist)."""
        return cls(run_dir, set(os.listdir(run_dir)) if run_dir.is_dir() else None)

    def keep(self) -> None:
        """The run started: what it made stays."""
        self.kept = True

    def undo(self, images: ImageStore | None) -> None:
        """Remove what this run created, nothing it found."""
        if self.kept:
            return
        if self.before is None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            return
        for name in set(os.listdir(self.run_dir)) - self.before:
            path = self.run_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if images is not None and "images" in self.before:
            for path in images.written:
                path.unlink(missing_ok=True)


def _batch_aware(
    settings: CallSettings, specialist: Specialist, options: Mapping[str, Any]
) -> CallSettings:
    """Let a batching local model see enough requests at once to fill its batches.

    A model served by a backend (a Ray proxy: its options are the deployment's) batches as the
    model it serves, on each of its replicas (the autoscaling bound when there is one).
    """
    served = getattr(specialist, "served", specialist)
    max_batch = getattr(served.options, "max_batch", None)
    if not isinstance(max_batch, int) or "max_concurrency" in options:
        return settings
    deployment = specialist.options
    replicas = getattr(deployment, "max_replicas", None) or getattr(deployment, "replicas", 1)
    wanted = 2 * max_batch * (replicas if isinstance(replicas, int) else 1)
    return settings.model_copy(update={"max_concurrency": wanted, "initial_concurrency": wanted})


def _capability_fix(model_name: str, capability: Capability) -> str:
    if model_name.startswith("openai-compatible/"):
        return (
            f'If the server can, say so in [models."{model_name}"]: capabilities = '
            f'["understand", "{capability.value}"] (an OpenAI-compatible server is assumed to '
            f"only understand); else bind a model that can, e.g. '{_EXAMPLE[capability]}'."
        )
    return f"Bind a model that can, e.g. '{_EXAMPLE[capability]}'."


def _describe_roles(needed: Mapping[str, Capability]) -> str:
    return ", ".join(f"{role} ({_KIND[capability]})" for role, capability in needed.items())


_EXAMPLE = {
    Capability.UNDERSTAND: "gemini/gemini-2.5-pro",
    Capability.GENERATE: "openai/gpt-image-1",
    Capability.EDIT: "openai/gpt-image-1",
}
