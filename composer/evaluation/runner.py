"""The runner: validate every binding, load local models, then run (system x instance) tasks.

Each task is one graph invocation followed by judging; its result is written to the run store
the moment it exists. Rerunning on the same run directory skips finished results and replays
cached calls, so a stopped run resumes where it was and nothing done is paid for twice.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import platform
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from composer.core.callsite import CallSite, current_site
from composer.core.config import GraphRef, RunConfig, SystemConfig
from composer.core.errors import ComposerError, ConfigError, RefusalError
from composer.core.images import ImageRef, ImageStore
from composer.core.instance import Axis, Instance
from composer.evaluation.calls import CallLayer, CallSettings, TrackedSpecialist
from composer.evaluation.imported import ImportedOutputs, read_imported
from composer.evaluation.judges import Score, judge_ueg, score_geu
from composer.evaluation.store import Result, RunStore, Status
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
    """A system ready to run: per axis, a built strategy and its roles bound to models."""

    name: str
    strategies: dict[Axis, Any] = field(default_factory=dict)
    contexts: dict[Axis, Any] = field(default_factory=dict)
    bindings: dict[Axis, dict[str, str]] = field(default_factory=dict)
    graphs: dict[Axis, GraphRef] = field(default_factory=dict)
    kind: str = "composed"
    imported: ImportedOutputs | None = None

    @property
    def axes(self) -> set[Axis]:
        """The axes this system answers."""
        return set(self.imported.axes) if self.imported else set(self.strategies)

    def definition(self) -> dict[str, Any]:
        """What makes this system what it is, for the run store."""
        if self.imported is not None:
            source = {"dir": str(self.imported.folder), "mode": self.imported.mode}
            imported_axes = {
                axis.value: {"graph": "imported", "options": source, "roles": {}}
                for axis in sorted(self.imported.axes)
            }
            mode = "direct" if self.imported.mode == "direct" else "stepwise"
            return {"kind": "unified", "mode": mode, "imported": True, "axes": imported_axes}
        axes: dict[str, Any] = {
            axis.value: {
                "graph": self.graphs[axis].graph,
                "options": self.graphs[axis].options,
                "roles": self.bindings[axis],
            }
            for axis in self.strategies
        }
        graphs = {ref.graph for ref in self.graphs.values()}
        mode = "direct" if graphs == {"direct"} else "stepwise"
        return {"kind": self.kind, "mode": mode, "axes": axes}


class MissingOutputError(ComposerError):
    """An imported system has no usable output for an instance: a `failed` result."""


class RunSummary(BaseModel):
    """What one invocation did."""

    run_dir: str
    tasks: int
    skipped: int
    statuses: dict[str, int]
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


class Runner:
    """Runs a `RunConfig` into a run directory; see the module docstring.

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
    ) -> None:
        """Validate everything that can be checked without a model call; raise `ConfigError`."""
        self.config = config
        self.run_dir = Path(run_dir)
        self.on_progress = on_progress
        self.retry_failed = retry_failed
        is_new = not self.run_dir.exists()
        self._is_new = is_new
        self._discard = False
        self.store = RunStore(self.run_dir)
        self.images = ImageStore(self.run_dir / "images")
        self.layer = CallLayer(self.store, self.images)
        self.specialists: dict[str, Specialist] = {}
        self.tracked: dict[str, TrackedSpecialist] = {}
        try:
            self.instances = self._load_instances()
            self.systems = [self._bind(name, system) for name, system in config.systems.items()]
            self.judge = self._bind_judge()
        except BaseException:
            self.store.close()
            if is_new:  # a configuration error leaves no half-made run folder behind
                shutil.rmtree(self.run_dir, ignore_errors=True)
            raise

    def _load_instances(self) -> list[Instance]:
        from composer.benchmarks.loaders import load_benchmark

        return load_benchmark(self.config, self.images, self.run_dir)

    def _model(self, name: str) -> TrackedSpecialist:
        if name not in self.tracked:
            settings, options = self._settings(name)
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
            bound.imported = read_imported(folder, system.mode, self.images, self.instances)
            return bound
        used_roles = {"model"}
        for axis, ref in ((Axis.UEG, system.ueg), (Axis.GEU, system.geu)):
            if ref is None:
                continue
            strategy = build_strategy(ref.graph, axis, ref.options, base_dir=self.config.base_dir)
            if axis not in present:
                continue
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
                        f"Bind a model that can, e.g. '{_EXAMPLE[capability]}'.",
                    )
                binding[role] = model_name
                models[role] = model
            bound.strategies[axis] = strategy
            bound.contexts[axis] = strategy.roles(**models)
            bound.bindings[axis] = binding
            bound.graphs[axis] = ref
        names = sorted({m for binding in bound.bindings.values() for m in binding.values()})
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

    def _bind_judge(self) -> TrackedSpecialist | None:
        if not any(Axis.UEG in s.axes for s in self.systems):
            return None
        name = self.config.judge.model
        if name is None:
            raise ConfigError(
                "[judge] model",
                "is not set, and UEG outputs need a judge.",
                'Add [judge] model = "gemini/gemini-2.5-pro" (the paper\'s judge) '
                'or an offline one such as "symbolic/reasoner".',
            )
        judge = self._model(name)
        if not judge.supports(Capability.UNDERSTAND):
            raise ConfigError("[judge] model", f"{name!r} cannot understand images.", "Bind a VLM.")
        return judge

    async def run(self) -> RunSummary:
        """Run every unfinished task; return counts. Results are in the store as they finish."""
        started = time.perf_counter()
        try:
            await load_all(self.specialists.values())  # at the same time: the slowest sets the wait
        except ComposerError:
            # Nothing ran: a model that cannot load leaves no half-made run folder behind.
            self._discard = self._is_new
            raise
        self.store.check_systems({s.name: s.definition() for s in self.systems})
        self.store.record_run(self.config.model_dump(mode="json"), versions(), self.config.seed)
        self.store.put_instances(self.instances)
        finished = self.store.finished(retry_failed=self.retry_failed)
        tasks = [
            (system, instance)
            for system in self.systems
            for instance in self.instances
            if instance.axis in system.axes and (system.name, instance.id) not in finished
        ]
        total = sum(1 for s in self.systems for i in self.instances if i.axis in s.axes)
        statuses: dict[str, int] = {}
        queue: asyncio.Queue[tuple[BoundSystem, Instance]] = asyncio.Queue()
        for task in tasks:
            queue.put_nowait(task)

        async def worker() -> None:
            while not queue.empty():
                system, instance = queue.get_nowait()
                result = await self._run_task(system, instance)
                statuses[result.status] = statuses.get(result.status, 0) + 1
                if self.on_progress is not None:
                    self.on_progress(system.name, result)

        workers = [
            asyncio.create_task(worker())
            for _ in range(min(self.config.concurrency, len(tasks)) or 1)
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
            tasks=len(tasks),
            skipped=total - len(tasks),
            statuses=statuses,
            calls_sent=self.layer.stats.sent,
            calls_cached=self.layer.stats.cached,
            seconds=time.perf_counter() - started,
        )

    async def _run_task(self, system: BoundSystem, instance: Instance) -> Result:
        axis = instance.axis
        site = CallSite(system.name, instance.id, "")
        token = current_site.set(site)
        started = time.perf_counter()
        state: dict[str, Any] = {}
        status: Status = "failed"
        score: Score | None = None
        error: str | None = None
        try:
            if system.imported is not None:
                state = self._imported_state(system.imported, instance)
            else:
                inputs = {
                    "instance": instance,
                    "seed": instance_seed(self.config.seed, instance.id),
                }
                async for chunk in system.strategies[axis].graph.astream(
                    inputs, context=system.contexts[axis], stream_mode="values"
                ):
                    state = chunk
            score = await self._score(instance, state)
            headline = score.official if self.config.judge.parser == "official" else score.strict
            status = "unscored" if headline is None else "ok"
        except RefusalError as exc:
            status, error = "refused", str(exc)
        except ComposerError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug in one graph must not end the run
            error = f"{type(exc).__name__}: {exc}"
        finally:
            current_site.reset(token)
        output = _jsonable({k: v for k, v in state.items() if k not in ("instance", "seed")})
        result = Result(
            system=system.name,
            instance=instance.id,
            axis=axis.value,
            category=instance.category,
            status=status,
            output=output,
            correct_official=score.official if score else None,
            correct_strict=score.strict if score else None,
            error=error,
            latency_s=time.perf_counter() - started,
            cost_usd=site.tally.cost_usd if site.tally.has_cost else None,
            judge=self.config.judge.model if axis is Axis.UEG else "exact-match",
        )
        await self.store.aput_result(result, score.judgments if score else [])
        return result

    @staticmethod
    def _imported_state(imported: ImportedOutputs, instance: Instance) -> dict[str, Any]:
        if instance.id in imported.missing:
            raise MissingOutputError(
                f"imported output of {instance.id}", imported.missing[instance.id]
            )
        return dict(imported.outputs[instance.id])

    async def _score(self, instance: Instance, state: Mapping[str, Any]) -> Score:
        if instance.axis is Axis.GEU:
            response = state.get("response")
            if not isinstance(response, str):
                raise ConfigError(
                    "graph output",
                    "has no 'response' text for a GEU instance.",
                    "A GEU graph must set state['response'].",
                )
            return score_geu(response, instance.answer or "")
        image = state.get("image")
        if not isinstance(image, ImageRef):
            raise ConfigError(
                "graph output",
                "has no 'image' for a UEG instance.",
                "A UEG graph must set state['image'].",
            )
        assert self.judge is not None
        token = current_site.set(
            CallSite(current_site.get().system, instance.id, "judge", current_site.get().tally)
        )
        try:
            return await judge_ueg(self.judge, image, instance.checks)
        finally:
            current_site.reset(token)

    def close(self) -> None:
        """Release the models and close the run store."""
        for specialist in self.specialists.values():
            specialist.close()
        self.store.close()
        if self._discard:
            shutil.rmtree(self.run_dir, ignore_errors=True)


def _batch_aware(
    settings: CallSettings, specialist: Specialist, options: Mapping[str, Any]
) -> CallSettings:
    """Let a batching local model see enough requests at once to fill its batches."""
    max_batch = getattr(specialist.options, "max_batch", None)
    if not isinstance(max_batch, int) or "max_concurrency" in options:
        return settings
    return settings.model_copy(
        update={"max_concurrency": 2 * max_batch, "initial_concurrency": 2 * max_batch}
    )


def _describe_roles(needed: Mapping[str, Capability]) -> str:
    return ", ".join(f"{role} ({_KIND[capability]})" for role, capability in needed.items())


_EXAMPLE = {
    Capability.UNDERSTAND: "gemini/gemini-2.5-pro",
    Capability.GENERATE: "openai/gpt-image-1",
    Capability.EDIT: "openai/gpt-image-1",
}
