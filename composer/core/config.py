"""The run file: a TOML document parsed into `RunConfig`, with errors that name the table."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from composer.core.document import check_document
from composer.core.errors import ConfigError, config_error
from composer.core.files import read_text
from composer.core.instance import Parser

SYNTHETIC_MOST_PER_CATEGORY = 10_000
"""The most synthetic instances per category (or Uni-MMMU-style ones per task) composer makes:
a suite is generated, written and loaded whole before the run, so a mistyped count (a million)
would fill the disk and the memory before it said anything."""


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


class BenchmarkConfig(_Strict):
    """`[benchmark]`: which instances to run."""

    name: str = "realunify"
    path: str | None = None
    """A folder in the RealUnify file format (relative paths start at the config's folder)."""
    categories: tuple[str, ...] | None = None
    limit: int | None = Field(default=None, ge=1, strict=True)
    """At most this many instances per category."""
    instances: tuple[str, ...] | None = None
    """Only the instances whose id matches one of these: exact ids or glob patterns (`UEG-1*`).
    Applied before `limit`; a pattern that matches no instance is an error."""
    n_per_category: int = Field(default=10, ge=1, le=SYNTHETIC_MOST_PER_CATEGORY, strict=True)
    """Synthetic suite only, when no `path` is given: instances per category to generate."""
    seed: int = Field(default=0, strict=True, ge=0)
    """Synthetic suite only: the generator seed."""
    difficulty: Literal["easy", "medium", "hard", "mixed"] = "mixed"
    """Synthetic suite only."""
    tasks: tuple[str, ...] | None = None
    """Uni-MMMU only: the tasks to run (maze, sliding, geometry, jigsaw, science, code)."""
    dreamsim: bool | None = Field(default=None, strict=True)
    """Uni-MMMU jigsaw images: true scores them with DreamSim (the `unimmmu` extra; its weights
    are fetched on first use), false leaves that channel unscored; unset: DreamSim when the
    package is installed."""
    dreamsim_cache: str | None = None
    """Where DreamSim keeps its weights (relative paths start at the run file's folder)."""
    withhold_k: bool = Field(default=False, strict=True)
    """Uni-MMMU only: do not tell the system k, the number of ground-truth moves of a maze or
    sliding item (the release tells it: its loop makes one step call per move). Each step call
    then also asks for `<GOAL_REACHED>` once the goal is reached, and the system ends the loop
    itself; the report says which was used."""
    max_steps: int | None = Field(default=None, ge=1, le=1000, strict=True)
    """Uni-MMMU with `withhold_k` only: the most steps a system may take before the final call
    (unset: 36, which every shortest solution of the release's 6x6 mazes and 3x3 puzzles fits)."""
    total_weights: dict[str, float] | None = None
    """Total as a weighted mean of the axes, e.g. `{ UEG = 0.6, GEU = 0.4 }` (an axis left out
    weighs 0; the weights need not sum to 1). Unset: RealUnify's 0.6 UEG + 0.4 GEU for
    `realunify` and `synthetic`, correct / instances for any other benchmark."""

    @field_validator("total_weights")
    @classmethod
    def _axis_weights(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - {"UEG", "GEU"})
        if unknown or not value:
            named = f"has the key {unknown[0]!r}: it" if unknown else "is empty: it"
            raise ValueError(f"{named} takes the axes UEG and GEU, e.g. {{ UEG = 0.6, GEU = 0.4 }}")
        for axis, weight in value.items():
            if weight < 0:
                raise ValueError(f"gives {axis} the weight {weight:g}: weights are 0 or more")
        if not math.isfinite(sum(value.values())):
            raise ValueError(
                "sums to more than a number can hold: give weights of ordinary size, "
                "e.g. { UEG = 0.6, GEU = 0.4 }"
            )
        if sum(value.values()) <= 0:
            raise ValueError("weighs every axis 0: give some axis a weight above 0")
        return value

    @model_validator(mode="after")
    def _steps_need_withheld_k(self) -> BenchmarkConfig:
        if self.max_steps is not None and not self.withhold_k:
            raise ValueError(
                f"sets max_steps = {self.max_steps}, which caps the step loop only when k is "
                "withheld (with k told, a system makes one step per ground-truth move): set "
                "withhold_k = true, or remove max_steps"
            )
        return self


class JudgeRef(_Strict):
    """One UEG judge: a model, the judging method that asks it, and the method's options.

    The method is a registered name or `path/to/judge.py:function`.
    """

    model: str
    method: str = "realunify-polling"
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"model": value} if isinstance(value, str) else value


class JudgeConfig(_Strict):
    """`[judge]`: the UEG judge (model and method), extra judges, and the headline parser.

    The headline numbers come from `model`; every judge in `extra` judges every UEG output too,
    and the report shows how far the judges agree and whether a comparison depends on them.
    """

    model: str | None = None
    method: str = "realunify-polling"
    """The judging method: a registered name or `path/to/judge.py:function`."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Options passed to the judging method."""
    parser: Parser = "official"
    extra: tuple[JudgeRef, ...] = ()
    """More judges, each a model name or `{ model = "...", method = "..." }`."""
    text_model: str | None = None
    """Uni-MMMU: the text-only judge of geometry proofs (the release's Qwen3-32B); unset,
    `model` judges them too."""

    def judges(self) -> list[JudgeRef]:
        """The primary judge first, then the extra ones (none without a primary model)."""
        if self.model is None:
            return []
        return [JudgeRef(model=self.model, method=self.method, options=self.options), *self.extra]


class GraphRef(_Strict):
    """A graph name (or `path/to/file.py:build`) with the options its `build` accepts."""

    graph: str
    options: dict[str, Any] = Field(default_factory=dict)


class SystemConfig(_Strict):
    """`[systems.NAME]`: graphs per axis plus role bindings, or outputs imported from files.

    A run system names `ueg` and/or `geu` graphs and binds their roles. An imported system
    names a folder of RealUnify result files instead (`import = "DIR"`, `mode = "direct"` or
    `"step"`), or a Uni-MMMU release root (`format = "uni-mmmu"`, `release_model = "MODEL"`
    for its `outputs/MODEL/`): its outputs were computed elsewhere and are scored like any other.
    """

    ueg: GraphRef | None = None
    geu: GraphRef | None = None
    roles: dict[str, str] = Field(default_factory=dict)
    """Role name to model name; the key `model` binds every role not bound explicitly."""
    import_dir: str | None = Field(default=None, alias="import")
    """A folder of filled-in RealUnify result files (relative to the run file)."""
    mode: Literal["direct", "step"] | None = None
    """For an imported system: which result files to read."""
    kind: Literal["composed", "unified", "specialist"] | None = None
    """For an imported system: what produced the outputs (default "unified"); the report's
    composed-vs-unified comparisons use it. A run system's kind follows from its bindings."""
    seed: int | None = Field(default=None, strict=True, ge=0)
    """For an imported system: the run seed its folder of outputs stands for (default: the run's
    first seed). One folder is one seed; import each seed's folder as its own system."""
    format: Literal["realunify", "uni-mmmu"] = "realunify"
    """For an imported system: the folder's layout. "realunify": its result files (with
    `mode`); "uni-mmmu": the release's output layout, `import` being the release root (the
    folder holding `data/` and `outputs/`) and `release_model` the folder under `outputs/`."""
    release_model: str | None = None
    """For a Uni-MMMU import: the model folder under `outputs/` (the release's model name)."""

    @field_validator("ueg", "geu", mode="before")
    @classmethod
    def _graph_ref(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"graph": value}
        if isinstance(value, dict) and "graph" in value:
            options = {k: v for k, v in value.items() if k != "graph"}
            return {"graph": value["graph"], "options": options}
        return value

    def _uni_mmmu_import(self) -> SystemConfig:
        if self.mode is not None:
            raise ValueError(
                "imports Uni-MMMU outputs, which have no mode: remove mode (the release's "
                "calls are replayed stepwise)"
            )
        if not self.release_model:
            raise ValueError(
                "imports Uni-MMMU outputs: name the model folder under outputs/ with "
                'release_model = "..."'
            )
        return self

    @model_validator(mode="after")
    def _has_an_axis(self) -> SystemConfig:
        if self.import_dir is not None:
            if self.ueg is not None or self.geu is not None or self.roles:
                raise ValueError(
                    "imports outputs, so it takes no graphs or roles: keep import and mode only"
                )
            if self.format == "uni-mmmu":
                return self._uni_mmmu_import()
            if self.release_model is not None:
                raise ValueError('sets release_model, which only format = "uni-mmmu" takes')
            if self.mode is None:
                raise ValueError('imports outputs: say which files with mode = "direct" or "step"')
            return self
        if self.mode is not None:
            raise ValueError('sets mode, which only an imported system (import = "DIR") takes')
        if "format" in self.model_fields_set or self.release_model is not None:
            raise ValueError(
                'sets format or release_model, which only an imported system (import = "DIR") takes'
            )
        if self.seed is not None:
            raise ValueError(
                "sets seed, which only an imported system takes: a run system runs every seed "
                "of the run file (seed = N or seeds = [...] at the top)"
            )
        if self.kind is not None:
            raise ValueError(
                "sets kind, which only an imported system takes: a run system's kind follows "
                "from its bindings (one unified model: unified; several models: composed)"
            )
        if self.ueg is None and self.geu is None:
            raise ValueError("names no graph: give 'ueg' and/or 'geu' (e.g. ueg = \"direct\")")
        return self


class RunConfig(_Strict):
    """A whole run file.

    Example:
        >>> config = RunConfig.model_validate(
        ...     {"systems": {"s": {"ueg": "direct", "roles": {"model": "mock/m"}}}}
        ... )
        >>> config.systems["s"].ueg.graph
        'direct'
    """

    # Numbers are strict: `concurrency = "8"` is a mistake in the file, not an 8.
    seed: int = Field(default=0, strict=True, ge=0)
    """The run seed: each instance's seed is derived from it and the instance id."""
    seeds: tuple[int, ...] | None = None
    """Several run seeds instead of `seed`: every task runs once per seed."""
    concurrency: int = Field(default=16, ge=1, strict=True)
    """Instances in flight at once (each model's endpoint has its own limit too)."""
    task_timeout_s: float | None = Field(default=None, gt=0, strict=True)
    """The most seconds one instance's graph may take: past it the instance fails, naming the
    node still running, and the run goes on. None (the default): no limit but each model
    call's own `timeout_s`."""
    recursion_limit: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)
    """The most steps (LangGraph's supersteps) one instance's graph may take: past it the
    instance fails (`StepLimit`), naming the nodes that ran most. None (the default):
    LangGraph's own limit (10,007 in LangGraph 1.2)."""
    benchmark: BenchmarkConfig = BenchmarkConfig()
    judge: JudgeConfig = JudgeConfig()
    systems: dict[str, SystemConfig]
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-model options, keyed by the full model name."""
    base_dir: Path = Field(default=Path("."), exclude=True)
    """The folder relative paths in the file start from."""

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_list(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("takes a non-empty list of whole numbers, e.g. seeds = [0, 1, 2]")
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in value):
            raise ValueError("takes whole numbers 0 or more only, e.g. seeds = [0, 1, 2]")
        if len(set(value)) != len(value):
            raise ValueError("repeats a seed: list each seed once")
        return tuple(value)

    @model_validator(mode="after")
    def _one_seed_setting(self) -> RunConfig:
        if self.seeds is not None and "seed" in self.model_fields_set:
            raise ValueError(
                "sets both seed and seeds: keep seeds = [...] for several seeds, or seed = N"
            )
        for name, system in self.systems.items():
            if system.seed is not None and system.seed not in self.run_seeds:
                raise ValueError(
                    f"system {name!r} imports its outputs as seed {system.seed}, which is not "
                    f"a seed of this run ({', '.join(map(str, self.run_seeds))}): add it to "
                    "seeds, or change the system's seed"
                )
        return self

    @property
    def run_seeds(self) -> tuple[int, ...]:
        """The run's seeds: `seeds`, else `(seed,)`."""
        return self.seeds if self.seeds is not None else (self.seed,)

    @field_validator("systems")
    @classmethod
    def _some_systems(cls, value: dict[str, SystemConfig]) -> dict[str, SystemConfig]:
        if not value:
            raise ValueError("is empty: define at least one [systems.NAME] table")
        for name in value:
            # --systems and --rerun take names separated by commas, each stripped: a name they
            # cannot give back could never be selected or rerun.
            if not name.strip():
                raise ValueError(f"has a system with an empty name ({name!r}): name it")
            if name != name.strip():
                raise ValueError(
                    f"has a system named {name!r}, with spaces around it: remove them "
                    "(--systems and --rerun would name another system, or none)"
                )
            if "," in name:
                raise ValueError(
                    f"has a system named {name!r}, with a comma: rename it (--systems and "
                    "--rerun take names separated by commas)"
                )
        return value

    def unused_models(self) -> list[str]:
        """`[models."..."]` tables that no system's roles and not the judge name."""
        return sorted(set(self.models) - _used(self))

    def resolve(self, path: str) -> Path:
        """A path from the file, made absolute against the file's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()

    def select(self, names: list[str]) -> RunConfig:
        """A copy with only the named systems (at least one)."""
        if not names:
            raise ConfigError(
                "--systems",
                "names no system.",
                f"Pass one or more of {', '.join(self.systems)}, separated by commas.",
            )
        unknown = [n for n in names if n not in self.systems]
        if unknown:
            raise ConfigError(
                "--systems",
                f"no system named {', '.join(map(repr, unknown))}.",
                f"Defined: {', '.join(self.systems)}.",
            )
        return self.model_copy(update={"systems": {n: self.systems[n] for n in names}})


def parse_config(data: dict[str, Any], *, source: str, base_dir: Path) -> RunConfig:
    """Validate a parsed TOML document; the first problem becomes one `ConfigError`."""
    check_document(data, source)
    try:
        config = RunConfig.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        first = exc.errors()[0]
        fix = "See examples/ for working run files."
        if first["type"] == "extra_forbidden" and len(first["loc"]) >= 3:
            fix = 'A name with dots must be quoted in TOML, e.g. [systems."gpt-4.1"]. ' + fix
        raise config_error(source, exc, fix, noun="key") from None
    # A table no role names is a typo that would leave the real model on its defaults. This is
    # checked on the whole file, before --systems picks some: a model of another system is fine.
    unused = config.unused_models()
    if unused:
        used = sorted(_used(config))
        raise ConfigError(
            f'{source}: [models."{unused[0]}"]',
            "names a model that no system and not the judge uses.",
            f"Check the name for a typo (models in use: {', '.join(used) or 'none'}), "
            "or remove the table.",
        )
    return config


def _used(config: RunConfig) -> set[str]:
    used = {m for system in config.systems.values() for m in system.roles.values()}
    judges = {config.judge.model, config.judge.text_model, *(j.model for j in config.judge.extra)}
    return used | {m for m in judges if m is not None}


def load_config(path: Path | str) -> RunConfig:
    """Read and validate a TOML run file."""
    file = Path(path)
    text = read_text(file, what=".toml run file", error=ConfigError)
    # A byte-order mark (Windows editors write one) is no TOML: read past it, not "line 1".
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), f"is not valid TOML ({exc}).", "Fix the syntax.") from None
    except RecursionError:
        raise ConfigError(
            str(file),
            "is nested too deeply to read (arrays or tables thousands of levels deep).",
            "A run file nests a few levels; check the file.",
        ) from None
    return parse_config(data, source=str(file), base_dir=file.resolve().parent)
