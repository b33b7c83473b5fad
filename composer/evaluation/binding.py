"""Binding: a run file's systems and judges bound to models, and what defines a system.

`Binder` builds each system's strategies and binds their roles to models, checking every
role's capability before any model call (`composer.evaluation.plan` uses it); `BoundSystem` is
a system ready to run, and its `definition()` what the run store keeps of it (graphs and their
code, bindings, the models' options, the prompts' digest, composer's version). `run_record` is the
reproducibility record of one invocation.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import pkgutil
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from composer.core.config import GraphRef, RunConfig, SystemConfig
from composer.core.definition import (
    AxisDefinition,
    Kind,
    Mode,
    SystemDefinition,
    direct_or_stepwise,
)
from composer.core.errors import ConfigError, config_error
from composer.core.images import ImageStore
from composer.core.instance import Axis, Instance
from composer.evaluation.benchmark_scoring import needs_judge
from composer.evaluation.calls import CallLayer, CallSettings, TrackedSpecialist
from composer.evaluation.imported import ImportedOutputs, read_imported
from composer.evaluation.judges import Judge, get_method
from composer.specialists.base import Capability, Specialist
from composer.specialists.registry import SDKS, create

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
    kind: Kind = "composed"
    imported: ImportedOutputs | None = None
    import_source: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    """The run seeds this system has outputs for: every seed of the run, or an imported
    folder's one seed."""

    @property
    def axes(self) -> set[Axis]:
        """The axes this system answers in this run."""
        return set(self.imported.axes) if self.imported else set(self.strategies)

    def definition(self) -> SystemDefinition:
        """What makes this system what it is, for the run store.

        Its graphs with their code and options, role bindings, the models' options, the
        prompts, and composer's version.
        """
        if self.imported is not None:
            imported_axes = {
                axis.value: AxisDefinition(graph="imported", options=self.import_source)
                for axis in sorted(self.imported.axes)
            }
            mode: Mode = "direct" if self.imported.mode == "direct" else "stepwise"
            return SystemDefinition(kind=self.kind, mode=mode, imported=True, axes=imported_axes)
        axes = {
            axis.value: AxisDefinition(
                graph=self.graphs[axis].graph,
                options=self.graphs[axis].options,
                roles=self.bindings[axis],
                code=self.code[axis],
            )
            for axis in sorted(self.graphs)
        }
        return SystemDefinition(
            kind=self.kind,
            mode=direct_or_stepwise(ref.graph for ref in self.graphs.values()),
            axes=axes,
            models=self.model_options,
            prompts=prompts_digest(),
            composer=composer_version(),
        )


_PROTOCOL = "composer.benchmarks.realunify.protocol"


def _prompt_names() -> list[tuple[str, str]]:
    """Every (module, constant) the prompts digest covers, in its order."""
    import composer.agents as agents_package

    modules = [
        f"composer.agents.{info.name}"
        for info in sorted(pkgutil.iter_modules(agents_package.__path__), key=lambda m: m.name)
    ]
    return [
        (module_name, name)
        for module_name in [*modules, _PROTOCOL]
        for name in sorted(vars(importlib.import_module(module_name)))
        if name.endswith(("_PROMPT", "_PROMPTS"))
    ]


def _digest_of(names: Iterable[tuple[str, str]]) -> str:
    texts = [
        f"{module.rsplit('.', 1)[-1]}.{name}="
        f"{json.dumps(vars(importlib.import_module(module))[name])}"
        for module, name in names
    ]
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]


@functools.cache
def prompts_digest() -> str:
    """A hash of every prompt the built-in agents send (`*_PROMPT` and `*_PROMPTS` constants).

    It covers the agents' modules and RealUnify's protocol module, where the paper's prompts
    live.
    """
    return _digest_of(_prompt_names())


_PROMPTS_OF_SCHEMA_4 = (
    ("composer.agents.revise", "REVISE_PROMPT"),
    ("composer.agents.verify", "DERIVE_CHECKS_PROMPT"),
    (_PROTOCOL, "EDIT_PROMPTS"),
    (_PROTOCOL, "GENERIC_EDIT_PROMPT"),
    (_PROTOCOL, "JUDGE_PROMPT"),
    (_PROTOCOL, "MULTIPLE_CHOICE_PROMPT"),
    (_PROTOCOL, "REFINE_PROMPT"),
)
"""The prompts the digest covered before the agents gained composer's own rewrite and verify
wording (REWRITE_PROMPT, VERIFY_PROMPT), which no RealUnify system sends."""


@functools.cache
def earlier_prompts_digests() -> frozenset[str]:
    """Digests a stored system may carry that mean "the same prompts as now".

    A system stored when the digest covered fewer prompts is unchanged if every prompt that
    digest covered still reads the same; its folder resumes instead of being refused.
    """
    return frozenset({_digest_of(_PROMPTS_OF_SCHEMA_4)})


def composer_version() -> str:
    """The installed composer's version."""
    try:
        return version("unify-composer")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


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
    """Versions of composer and the libraries whose behaviour a result may depend on.

    Read from the installed packages' metadata once per process (each run asked twice, about
    10 ms each: the runs row and the reproducibility record).
    """
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in (
        "unify-composer",
        "langgraph",
        "pydantic",
        "pillow",
        "numpy",
        *(distribution for distribution, _ in SDKS.values()),
    ):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def strategy_code(graph: str, base_dir: Path) -> str:
    """What a graph's code is: the graph registry's digest (`composer.core.registry`).

    `builtin` for composer's own strategies (versioned with composer and the prompts, see
    `definition`); `sha256:` of the file for a strategy file, and of the source for a strategy
    registered in-process or by a package, so a changed one is refused like a changed file.
    """
    from composer.graphs.base import get_graph

    return get_graph(graph, base_dir=base_dir).code


class Binder:
    """Binds a run file's systems and judges to models, for `composer.evaluation.plan`.

    Each model is built once (not loaded), wrapped in the call layer, and shared by every role
    and judge that names it; `needed` collects the models this run's instances need loaded.
    """

    def __init__(
        self,
        config: RunConfig,
        images: ImageStore,
        layer: CallLayer,
        instances: Sequence[Instance],
    ) -> None:
        """Bind against `config`, wrapping models in `layer`, for `instances`."""
        self.config = config
        self.images = images
        self.layer = layer
        self.instances = list(instances)
        self.specialists: dict[str, Specialist] = {}
        self.tracked: dict[str, TrackedSpecialist] = {}
        self._needed: set[str] = set()

    @property
    def needed(self) -> frozenset[str]:
        """The models bound so far that this run's instances need."""
        return frozenset(self._needed)

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
                where = f'[models."{name}"]'
                raise config_error(where, exc, "Fix or remove that option.") from None
            self.specialists[name] = specialist
            settings = _batch_aware(settings, specialist, self.config.models.get(name, {}))
            self.tracked[name] = self.layer.wrap(specialist, settings)
        return self.tracked[name]

    def model(self, name: str, *, needed: bool = True) -> TrackedSpecialist:
        """The model `name` through the call layer (built once); `needed`: load it for this run."""
        model = self._model(name)
        if needed:
            self._needed.add(name)
        return model

    def _settings(self, name: str) -> tuple[CallSettings, dict[str, Any]]:
        try:
            return CallSettings.split(self.config.models.get(name, {}))
        except ValidationError as exc:
            raise config_error(f'[models."{name}"]', exc, "Fix or remove that option.") from None

    def bind(self, name: str, system: SystemConfig) -> BoundSystem:
        """Build `system`'s strategies and bind their roles, checking every capability."""
        from composer.graphs.base import build_strategy

        present = {i.axis for i in self.instances}
        bound = BoundSystem(name)
        if system.import_dir is not None:
            folder = self.config.resolve(system.import_dir)
            if system.format == "uni-mmmu":
                # Imported here: the release's scorers and grids load only for such a system.
                from composer.evaluation.imported_unimmmu import read_unimmmu_outputs

                assert system.release_model is not None
                bound.imported = read_unimmmu_outputs(
                    folder,
                    system.release_model,
                    self.images,
                    self.instances,
                    is_subset=self._is_subset() or self.config.benchmark.tasks is not None,
                )
                source = {"format": system.format, "release_model": system.release_model}
            else:
                assert system.mode is not None
                bound.imported = read_imported(
                    folder,
                    system.mode,
                    self.images,
                    self.instances,
                    is_subset=self._is_subset(),
                )
                source = {"mode": system.mode}
            bound.kind = system.kind or "unified"
            bound.import_source = {"dir": system.import_dir, **source}
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
                models[role] = model.as_role(role)  # its calls traced under the role
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
        return bench.categories is not None or bench.limit is not None or bool(bench.instances)

    def bind_judges(
        self, systems: Sequence[BoundSystem]
    ) -> tuple[list[Judge], dict[str, TrackedSpecialist]]:
        """The run's judges and their models (none when nothing of this run is judged)."""
        refs = self.config.judge.judges()
        declares_ueg = any(
            Axis.UEG in s.graphs or (s.imported is not None and Axis.UEG in s.imported.axes)
            for s in systems
        )
        # The judges poll UEG images with the instances' checks; a benchmark whose own
        # scorers need them says so (composer.evaluation.benchmark_scoring).
        polled = declares_ueg and any(
            i.axis is Axis.UEG and i.references.checks for i in self.instances
        )
        judged = needs_judge(self.instances)
        if not polled and not judged:
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
        if judged or any(Axis.UEG in s.axes for s in systems):
            self._needed.update(j.model for j in judges)
        return judges, models


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
