"""composer from Python: run a config from a script or a notebook, read results as tables.

    import composer

    results = composer.run("examples/demo.toml", out="runs/demo")   # a script, or a notebook
    results = await composer.arun(config, out="runs/demo")          # inside a running loop
    results.frame()            # one row per (system, instance, seed): a pandas DataFrame
    results.report_frame()     # accuracy per system, axis and category (mean and SD over seeds)
    results.paired_frame()     # paired comparisons with their intervals

A config is a TOML file, or one built in Python with `config({...})` (the same tables as the
file; a system may name a graph registered in this process with `@register_graph`). `Run` is
the runner as a context manager: it validates everything on entry, runs with `run()` (sync:
it works in a plain script and, through a worker thread, where an event loop already runs,
as in Jupyter) or `await arun()`, and closes the run folder on exit. `Results` reads a run
folder only: typed `Outcome`s, the report, each task's steps, and DataFrames (the `pandas`
extra: `pip install 'unify-composer[pandas]'`).

This module calls the library through its public entry points (`load_config`,
`parse_config`, `Runner`, `RunStore`, `summarize`), and imports them when first used, so
`import composer` stays light.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import warnings
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from composer.core.config import RunConfig, load_config, parse_config
from composer.core.errors import ConfigError, PrerequisiteError, shown_argument

if TYPE_CHECKING:
    from composer.evaluation.runner import Runner, RunSummary
    from composer.evaluation.store import Result, RunStore
    from composer.report.model import Report
    from composer.report.trace import Step

__all__ = ["Outcome", "Results", "Run", "RunNote", "arun", "config", "open_results", "run"]

ConfigLike = RunConfig | Mapping[str, Any] | str | Path
"""A `RunConfig`, the tables of a run file as a dict, or the path of a TOML run file."""
_T = TypeVar("_T")


def config(data: Mapping[str, Any], *, base_dir: Path | str = ".") -> RunConfig:
    """A run config from the tables of a run file, as Python data.

    Relative paths in it (a strategy file, a benchmark folder) start at `base_dir`.

    Example:
        >>> cfg = config({
        ...     "benchmark": {"name": "synthetic", "n_per_category": 1},
        ...     "judge": {"model": "symbolic/reasoner"},
        ...     "systems": {"oracle": {"ueg": "decompose-then-generate",
        ...         "roles": {"reasoner": "symbolic/reasoner", "generator": "symbolic/painter"}}},
        ... })
        >>> list(cfg.systems)
        ['oracle']

    Raises:
        ConfigError: the first problem, naming the key and how to fix it.
    """
    return parse_config(dict(data), source="config(...)", base_dir=Path(base_dir).resolve())


def _as_config(value: ConfigLike) -> RunConfig:
    if isinstance(value, RunConfig):
        return value
    if isinstance(value, str | Path):
        return load_config(value)
    if isinstance(value, Mapping):
        return config(value)
    raise ConfigError(
        "config",
        f"is a {type(value).__name__}, not a run config.",
        "Pass a RunConfig, a dict of the run file's tables, or the path of a TOML run file.",
    )


def _names(arg: str, value: object) -> tuple[str, ...] | None:
    """`Run`'s `arg`: one name (not its letters), a list of names, or None; else `ConfigError`."""
    if value is None or isinstance(value, str):
        return None if value is None else (value,)
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        names = tuple(value)
        if all(isinstance(name, str) for name in names):
            return names
        value = next(name for name in names if not isinstance(name, str))
    raise ConfigError(
        f"Run({arg}=...)",
        f"takes a name or a list of names, not {shown_argument(value)}.",
        f'Pass e.g. {arg}="{"UEG-1*" if arg == "instances" else "oracle"}", or a list of them.',
    )


def _narrowed(
    cfg: RunConfig, systems: Sequence[str] | None, instances: Sequence[str] | None
) -> RunConfig:
    if systems is not None:
        cfg = cfg.select(list(systems))
    if instances is not None:
        bench = cfg.benchmark.model_copy(update={"instances": tuple(instances)})
        cfg = cfg.model_copy(update={"benchmark": bench})
    return cfg


def _blocking(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to the end from synchronous code, whether or not a loop is running.

    `asyncio.run` refuses to start inside a running loop (Jupyter runs one): there the
    coroutine runs on its own loop in a worker thread, and this call waits for it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="composer-run") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


class RunNote(UserWarning):
    """What a run says before it starts and a user should hear (the CLI prints it as `note:`)."""


class Run:
    """The runner as a context manager: validated on entry, the run folder closed on exit.

    Example:
        >>> with Run("examples/demo.toml", "runs/demo") as r:  # doctest: +SKIP
        ...     summary = r.run()          # or: summary = await r.arun()
        >>> open_results("runs/demo").frame()  # doctest: +SKIP
    """

    def __init__(
        self,
        config: ConfigLike,
        out: Path | str,
        *,
        systems: Sequence[str] | str | None = None,
        instances: Sequence[str] | str | None = None,
        retry_failed: bool = False,
        rerun: Sequence[str] | str | None = (),
        on_progress: Callable[[str, Result], None] | None = None,
    ) -> None:
        """Hold what to run; its arguments are checked here, nothing is written until it is entered.

        Args:
            config: a `RunConfig`, the run file's tables as a dict, or a TOML path.
            out: the run folder (a rerun on it resumes).
            systems: run only these systems (a name, or a list of names).
            instances: run only the instances whose id matches one of these (ids or globs).
            retry_failed: run failed tasks again (cached calls replay).
            rerun: systems to run again from scratch (a name, or a list of names).
            on_progress: called with (system, result) as each task ends.
        """
        if on_progress is not None and not callable(on_progress):
            raise ConfigError(
                "Run(on_progress=...)",
                f"must be callable (got {type(on_progress).__name__}).",
                "Pass a function of (system, result), or leave it out.",
            )
        if not isinstance(retry_failed, bool):
            raise ConfigError(
                "Run(retry_failed=...)",
                f"must be True or False (got {shown_argument(retry_failed)}).",
                "Pass retry_failed=True to run the failed tasks again.",
            )
        if not isinstance(out, str | os.PathLike):
            raise ConfigError(
                "Run(out=...)",
                f"must be a folder's path (got {shown_argument(out)}).",
                'Pass a str or a Path, e.g. out="runs/mine".',
            )
        self.config = _narrowed(
            _as_config(config), _names("systems", systems), _names("instances", instances)
        )
        self.out = Path(out)
        self._options: dict[str, Any] = {
            "retry_failed": retry_failed,
            "rerun": _names("rerun", rerun) or (),
        }
        self._on_progress = on_progress
        self._runner: Runner | None = None

    def __enter__(self) -> Run:
        """Validate every binding (a `ConfigError` here writes nothing) and open the folder."""
        from composer.evaluation.runner import Runner

        self._runner = Runner(self.config, self.out, **self._options)
        self._runner.on_progress = self._on_progress
        # What the command line prints as notes before it runs: a model's ceiling below the
        # run's concurrency, a system that answers none of the instances. A note made an error
        # (warnings.simplefilter("error", RunNote)) leaves the folder as it found it.
        try:
            for line in [*self._runner.layer.below_the_run(), *self._runner.plan.idle_systems()]:
                warnings.warn(line, RunNote, stacklevel=2)
        except BaseException:
            self._runner.close(discard=True)
            self._runner = None
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Release the models and close the run folder, whatever happened."""
        self.close()

    def close(self) -> None:
        """Release the models and close the run folder (again: nothing happens)."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def _entered(self) -> Runner:
        if self._runner is None:
            raise ConfigError(
                "Run",
                "is not open.",
                "Use it as a context manager: `with Run(config, out) as r: r.run()`.",
            )
        return self._runner

    async def arun(self) -> RunSummary:
        """Run every task not yet done, in the running event loop; return what it did."""
        return await self._entered().run()

    def run(self) -> RunSummary:
        """`arun` from synchronous code: a script, or a notebook whose loop is running."""
        runner = self._entered()
        return _blocking(runner.run)

    def results(self) -> Results:
        """The run folder's results (readable while the run is open)."""
        return Results(self.out)


def run(config: ConfigLike, out: Path | str, **options: Any) -> Results:
    """Run `config` into the folder `out` and return its results; works inside a running loop.

    `options` are `Run`'s (`systems`, `instances`, `retry_failed`, `rerun`, `on_progress`).

    Example:
        >>> results = run("examples/demo.toml", "runs/demo")  # doctest: +SKIP
        >>> results.report_frame()  # doctest: +SKIP
    """
    with Run(config, out, **options) as session:
        session.run()
    return Results(out)


async def arun(config: ConfigLike, out: Path | str, **options: Any) -> Results:
    """`run`, awaited in the running event loop (a notebook cell: `await composer.arun(...)`)."""
    with Run(config, out, **options) as session:
        await session.arun()
    return Results(out)


def open_results(run_dir: Path | str) -> Results:
    """The results of an existing run folder (read only)."""
    return Results(run_dir)


@dataclass(frozen=True)
class Outcome:
    """One system on one instance under one run seed, as scored: the typed form of a result."""

    system: str
    instance: str
    seed: int
    axis: str
    category: str
    status: str
    """ok, failed, refused or unscored."""
    correct: bool | None
    """Under the report's headline parser."""
    correct_official: bool | None
    correct_strict: bool | None
    judge: str | None
    error: str | None
    latency_s: float
    cost_usd: float | None
    calls: int
    """Model calls the task used (sent or replayed)."""
    input_tokens: int
    output_tokens: int
    images: int
    response: str | None
    """GEU: the answer text."""
    rewrite: str | None
    """A stepwise UEG system's rewritten prompt."""
    image: Path | None
    """UEG: the output image's file."""
    edited_image: Path | None
    """A stepwise GEU system's edited image's file."""
    output: Mapping[str, Any] = field(default_factory=dict)
    """Everything the graph returned (image references as `sha256:...`)."""


class Results:
    """A run folder read as typed objects and tables; it never writes.

    Example:
        >>> results = open_results("runs/demo")  # doctest: +SKIP
        >>> [o.instance for o in results.outcomes() if o.status == "failed"]  # doctest: +SKIP
    """

    def __init__(self, run_dir: Path | str) -> None:
        """Read the folder `run_dir` (written by a run).

        Raises:
            ConfigError: the folder holds no run.
        """
        if not isinstance(run_dir, (str, Path)):
            raise ConfigError(
                "open_results", f"takes a folder path, not {type(run_dir).__name__}.", ""
            )
        # Absolute: the results (and their image paths) stay right after os.chdir.
        self.run_dir = Path(run_dir).absolute()
        if not (self.run_dir / "run.db").is_file():
            raise ConfigError(
                str(self.run_dir), "holds no run.db.", "Pass a folder written by a run."
            )

    def _store(self) -> RunStore:
        from composer.evaluation.store import RunStore

        return RunStore(self.run_dir)

    def report(self, *, parser: str | None = None, judge: str | None = None) -> Report:
        """The report (`report --format json`'s data) under `parser` and `judge`."""
        from composer.report.summary import summarize

        store = self._store()
        try:
            return summarize(store, _parser(parser), judge=judge)
        finally:
            store.close()

    def outcomes(self, *, parser: str | None = None, judge: str | None = None) -> list[Outcome]:
        """Every stored result as an `Outcome`, in the order the run stored them."""
        from composer.report.judging import resolve_judge
        from composer.report.summary import headline_parser

        store = self._store()
        try:
            headline = headline_parser(store, _parser(parser))
            judge_id, _ = resolve_judge(store, judge)
            found = list(store.results(judge=judge_id, parser=headline))
        finally:
            store.close()
        return [_outcome(r, headline, self.run_dir / "images") for r in found]

    def steps(self, system: str, instance: str, *, seed: int | None = None) -> list[Step]:
        """The model calls behind one task, in order (see `composer trace`)."""
        from composer.report.trace import steps_of

        if not isinstance(system, str) or not isinstance(instance, str):
            raise ConfigError(
                f"steps({system!r}, {instance!r})",
                "takes a system name and an instance id (strings).",
                "See Results.frame() for the names the run has.",
            )
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ConfigError(
                f"steps({system!r}, {instance!r}, seed=...)",
                f"takes a whole-number seed or None, not {shown_argument(seed)}.",
                "Pass seed=0 (a run seed the run has; see Results.frame()), or leave it out.",
            )
        store = self._store()
        try:
            found = [r for r in store.results(system) if r.instance == instance]
            chosen = [r for r in found if seed is None or r.seed == seed]
            if not chosen:
                raise ConfigError(
                    f"({system!r}, {instance!r}, seed {seed})",
                    f"has no result in {self.run_dir}.",
                    "Pass a system, instance and seed the run has (see Results.frame()).",
                )
            return steps_of(store, min(chosen, key=lambda r: r.seed))
        finally:
            store.close()

    def frame(self, *, parser: str | None = None, judge: str | None = None) -> Any:
        """One row per (system, instance, seed): `Outcome`'s fields, `output` left out."""
        pandas = _pandas()
        rows = [
            {k: v for k, v in vars(o).items() if k != "output"}
            for o in self.outcomes(parser=parser, judge=judge)
        ]
        columns = [f for f in Outcome.__dataclass_fields__ if f != "output"]
        return pandas.DataFrame(rows, columns=columns)

    def report_frame(self, *, parser: str | None = None, judge: str | None = None) -> Any:
        """Accuracy per system and scope (each category, each axis, Total), SD over seeds."""
        from composer.report.records import report_records

        return _pandas().DataFrame(report_records(self.report(parser=parser, judge=judge)))

    def paired_frame(self, *, parser: str | None = None, judge: str | None = None) -> Any:
        """Paired comparisons per pair and scope: difference, 95% intervals, p.

        With several judges, also the difference and interval over judges.
        """
        from composer.report.records import paired_records

        return _pandas().DataFrame(paired_records(self.report(parser=parser, judge=judge)))


def _parser(value: str | None) -> Any:
    if value not in (None, "official", "strict"):
        raise ConfigError("parser", f"must be official or strict (got {value!r}).")
    return value


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise PrerequisiteError(
            "Results tables",
            "need pandas, which is not installed.",
            "pip install 'unify-composer[pandas]'",
        ) from None
    return pandas


def _outcome(result: Result, parser: str, images: Path) -> Outcome:
    from composer.core.images import ImageRef, ImageStore
    from composer.core.outputs import EDITED_IMAGE, IMAGE, RESPONSE, REWRITE
    from composer.report.trace import IMAGE_URI

    def path(key: str) -> Path | None:
        value = result.output.get(key)
        if isinstance(value, str) and IMAGE_URI.match(value):
            return images / ImageStore.relative_path(ImageRef.parse(value))
        return None

    def text(key: str) -> str | None:
        value = result.output.get(key)
        return value if isinstance(value, str) else None

    usage = result.usage
    correct = result.correct_official if parser == "official" else result.correct_strict
    return Outcome(
        system=result.system,
        instance=result.instance,
        seed=result.seed,
        axis=result.axis,
        category=result.category,
        status=result.status,
        correct=correct,
        correct_official=result.correct_official,
        correct_strict=result.correct_strict,
        judge=result.judge,
        error=result.error,
        latency_s=result.latency_s,
        cost_usd=result.cost_usd,
        calls=int(usage.get("calls") or 0),
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        images=int(usage.get("images") or 0),
        response=text(RESPONSE),
        rewrite=text(REWRITE),
        image=path(IMAGE),
        edited_image=path(EDITED_IMAGE),
        output=result.output,
    )
