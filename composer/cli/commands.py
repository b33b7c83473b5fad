"""The other commands: `export`, `list`, `graph`, `synth` and `demo`."""

from __future__ import annotations

import sys
from enum import StrEnum
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Annotated, Any

import typer

from composer.cli.base import (
    _check_run,
    _fail,
    _outside_store,
    _per_category,
    _seed_list,
    _seed_option,
    _writable,
    app,
    err,
    out,
)
from composer.cli.html_ahead import HtmlAhead
from composer.cli.run import _print_table, _run, _table_and_html
from composer.core.errors import ComposerError


class ExportFormat(StrEnum):
    """Export formats."""

    realunify = "realunify"
    uni_mmmu = "uni-mmmu"


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    output: Annotated[
        Path,
        typer.Option(
            help="Folder to write into: one subfolder per system (uni-mmmu: the release root, "
            "beside its data/, written under outputs/<system>/)."
        ),
    ],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Export format.")] = (
        ExportFormat.realunify
    ),
    systems: Annotated[str | None, typer.Option(help="Comma-separated systems to export.")] = None,
    allow_missing: Annotated[
        bool,
        typer.Option(
            help="Export even when images are missing from the run folder (their records get "
            "null, and a warning counts them); without it such an export writes nothing (exit 2)."
        ),
    ] = False,
) -> None:
    """Write a run's outputs in a benchmark's own layout, for its released scorer or `import`.

    realunify: RealUnify's result files; uni-mmmu: Uni-MMMU's output folders.
    """
    from composer.core.errors import ConfigError
    from composer.evaluation.store import RunStore
    from composer.report.export import plan_export, write_export

    try:
        _check_run(run_dir, None)
        _outside_store("--output", output, run_dir)
        _writable("--output", output, is_folder=True)
        store = RunStore(run_dir)
        try:
            names = None
            if systems is not None:  # `--systems ""` names none: an error, not every system
                names = [s.strip() for s in systems.split(",") if s.strip()]
                if not names:
                    raise ConfigError(
                        "--systems",
                        "names no system.",
                        "Pass one or more of the run's systems, separated by commas, or leave "
                        "the option out to export them all.",
                    )
            if fmt is ExportFormat.uni_mmmu:
                _export_unimmmu(store, output, names)
                return
            plan = plan_export(store, output, names)
        finally:
            store.close()
        write_export(plan, run_dir, allow_missing=allow_missing)
    except ComposerError as error:
        _fail(error)
    if plan.missing:
        from composer.report.safe_text import literal

        shown = "; ".join(plan.missing[:5]) + ("; ..." if len(plan.missing) > 5 else "")
        err.print(
            f"[yellow]warning[/]: the images of {len(plan.missing)} outputs are missing from "
            f"{literal(run_dir)}; exported as null: {literal(shown)}",
            highlight=False,
            soft_wrap=True,
        )
    for folder in plan.folders:
        files = ", ".join(sorted(p.name for p in folder.glob("*.json")))
        out.print(f"{folder}: {files}", highlight=False)


def _export_unimmmu(store: Any, output: Path, names: list[str] | None) -> None:
    from composer.report.export_unimmmu import export_unimmmu
    from composer.report.safe_text import literal

    exported = export_unimmmu(store, output, names)
    for folder in exported.folders:
        out.print(literal(folder), highlight=False, soft_wrap=True)
    for note in exported.notes:
        err.print(f"[yellow]note[/]: {literal(note)}", highlight=False, soft_wrap=True)


class ListWhat(StrEnum):
    """What `composer list` lists."""

    graphs = "graphs"
    providers = "providers"
    benchmarks = "benchmarks"
    scorers = "scorers"


@app.command("list")
def list_(
    what: Annotated[ListWhat, typer.Argument(help="graphs, providers, benchmarks or scorers.")],
) -> None:
    """List the registered graphs, providers, benchmarks or scorers (plug-ins' included)."""
    if what is ListWhat.graphs:
        from composer.graphs.base import graph_listing  # reads the modules, builds nothing

        for name, entry in sorted(graph_listing().items()):
            axes = ",".join(sorted(a.value for a in entry.axes))
            said = entry.description
            if not said.startswith("unavailable: "):  # a broken plug-in's says why, whole
                said = said.split(": ", 1)[-1]
            out.print(f"{name:<26} {axes:<8} {said}", highlight=False)
    elif what is ListWhat.providers:
        from composer.specialists.registry import PROVIDER_INFO, providers

        for name, target in sorted(providers().items()):
            can, example = PROVIDER_INFO.get(name, (f"a plugin ({target})", f"{name}/<model>"))
            out.print(f"{name:<18} {example:<46} {can}", highlight=False)
    elif what is ListWhat.benchmarks:
        from composer.benchmarks.loaders import benchmarks

        for name, description in benchmarks().items():
            out.print(f"{name:<12} {description}", highlight=False)
    else:
        from composer.evaluation.judges import METHODS

        for name, target in sorted(METHODS.targets().items()):
            out.print(f"{name:<24} {target}", highlight=False)


@app.command()
def graph(
    name: Annotated[str, typer.Argument(help="A graph name or path/to/strategy.py:build.")],
    axis: Annotated[
        str | None, typer.Option(help="UEG or GEU (default: the graph's first).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="mermaid (the source) or svg (a drawing, offline).")
    ] = "mermaid",
) -> None:
    """Print a graph's drawing (Mermaid source or SVG) and the roles it needs."""
    from composer.core.errors import ConfigError
    from composer.core.instance import Axis
    from composer.graphs.base import build_strategy, get_graph

    try:
        entry = get_graph(name)
        if axis is not None and axis.upper() not in ("UEG", "GEU"):
            raise ConfigError("--axis", f"must be UEG or GEU (got {axis!r}).")
        if fmt not in ("mermaid", "svg"):
            raise ConfigError("--format", f"must be mermaid or svg (got {fmt!r}).")
        chosen = Axis(axis.upper()) if axis else sorted(entry.axes, reverse=True)[0]
        strategy = build_strategy(name, chosen, {})
    except ComposerError as error:
        _fail(error)
    if fmt == "svg":
        from composer.report.svg import mermaid_svg

        sys.stdout.write(mermaid_svg(strategy.mermaid(), f"{name} ({chosen.value})"))
    else:
        sys.stdout.write(strategy.mermaid())
    roles = ", ".join(f"{r} ({c.value})" for r, c in strategy.required_roles().items())
    err.print(f"{name} [{chosen.value}] roles: {roles}", highlight=False)


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the suite into.")],
    n_per_category: Annotated[int, typer.Option(help="Instances per category.")] = 10,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 0,
    difficulty: Annotated[str, typer.Option(help="easy, medium, hard or mixed.")] = "mixed",
) -> None:
    """Write the synthetic suite in RealUnify's file format."""
    from composer.core.errors import ConfigError
    from composer.synthetic.suite import write_suite

    try:
        if difficulty not in ("easy", "medium", "hard", "mixed"):
            raise ConfigError(
                "--difficulty", f"must be easy, medium, hard or mixed (got {difficulty!r})."
            )
        _per_category("--n-per-category", n_per_category)
        _seed_option("--seed", seed)
        _writable("--out", out_dir, is_folder=True)
    except ComposerError as error:
        _fail(error)
    write_suite(out_dir, n_per_category=n_per_category, seed=seed, difficulty=difficulty)  # type: ignore[arg-type]
    out.print(f"wrote {n_per_category * 10} instances to {out_dir}")


def _import_for(config: Any) -> None:
    """Import what running `config` needs: the runner, graphs and model adapters it names.

    LangGraph comes with the graphs; the demo's symbolic models bring numpy and Pillow.
    """
    import composer.evaluation.runner  # noqa: F401
    from composer.graphs.base import get_graph
    from composer.specialists.registry import provider_class, split_name

    models = {judge.model for judge in config.judge.judges()}
    for system in config.systems.values():
        models.update(system.roles.values())
        for ref in (system.ueg, system.geu):
            if ref is not None:
                get_graph(ref.graph, base_dir=config.base_dir)
    for provider in sorted({split_name(model)[0] for model in models}):
        provider_class(provider)


def _run_beside(config: Any, run_dir: Path) -> BaseProcess | None:
    """Start `config`'s run into a new `run_dir` in a forked child, quietly; return the child.

    Its exit code says whether the run finished. A run that did not (an error, Ctrl-C) is run
    again by the caller, which resumes from what was stored and reports any error itself. None
    where the run cannot go beside (no `fork`, other threads running, a folder that holds
    something). The demo starts one only in a fresh output folder, where its first run cannot
    be refused (a refused run writes nothing, and the run beside would have).
    """
    from composer.core.fork import start_forked

    if run_dir.exists():
        return None
    return start_forked(_quiet_run, (config, run_dir), "composer-demo-run")


def _finished(child: BaseProcess) -> bool:
    """Wait for a run beside; whether it finished."""
    child.join()
    return child.exitcode == 0


def _quiet_run(config: Any, run_dir: Path) -> None:
    """In the child: the run without its progress display; any failure is the exit code."""
    try:
        _run(config, run_dir, quiet=True)
    except (ComposerError, typer.Exit, KeyboardInterrupt):
        sys.exit(1)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Run directory.")] = Path("composer-demo"),
    n_per_category: Annotated[int, typer.Option(help="Synthetic instances per category.")] = 10,
    seed: Annotated[int, typer.Option(help="Suite and run seed.")] = 0,
    seeds: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated run seeds, e.g. 0,1,2: every task runs once per seed and the "
            "report shows the spread (the suite is still generated from --seed)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
    uni_mmmu: Annotated[
        bool,
        typer.Option(
            help="Also run the Uni-MMMU-style suite (maze, sliding, jigsaw) into OUT/uni-mmmu."
        ),
    ] = True,
) -> None:
    """Run composed and unified systems on the synthetic suite, offline, and compare them."""
    from composer.synthetic.demo import (
        UNIMMMU_FOLDER,
        demo_config,
        unimmmu_demo_config,
        write_suite_ahead,
    )

    try:
        _per_category("--n-per-category", n_per_category)
        _seed_option("--seed", seed)
        _writable("--out", out_dir, is_folder=True)
        run_seeds = _seed_list(seeds) if seeds is not None else None
        cfg = demo_config(n_per_category=n_per_category, seed=seed, seeds=run_seeds)
        fresh = not out_dir.exists() or not any(out_dir.iterdir())  # no run there to refuse
        suite_written = write_suite_ahead(cfg, out_dir)  # meanwhile, import what the run needs
        html_ahead = HtmlAhead.start()  # it loads the report's modules on the second core too
        _import_for(cfg)
        suite_written()
        second = out_dir / UNIMMMU_FOLDER
        second_cfg = unimmmu_demo_config(seed=seed) if uni_mmmu else None
        # The Uni-MMMU-style run is a run of its own: it goes beside the first, on a second core.
        beside = _run_beside(second_cfg, second) if second_cfg and fresh else None
        # Its tasks on two cores: where the Uni-MMMU-style run holds the second, from its end.
        when = beside.sentinel if beside is not None else None
        summary = _run(cfg, out_dir, quiet=quiet, split=True, split_when=when)
        index = _table_and_html(out_dir, out_dir / "report", html_ahead)  # summarized once
        if second_cfg is not None:
            if beside is None or not _finished(beside):
                _run(second_cfg, second, quiet=quiet)  # resumes what the run beside stored
            err.print("Uni-MMMU-style suite (synthetic maze, sliding, jigsaw; release scorers):")
            _print_table(second)
    except ComposerError as error:
        _fail(error)
    err.print(
        f"{summary.tasks} tasks in {summary.seconds:.1f} s. Run directory: {out_dir} "
        f"(suite in {out_dir / 'suite'}). Compare two systems with "
        f"`composer compare {out_dir} oracle naive-stepwise`. HTML report:"
    )
    out.print(str(index), highlight=False, soft_wrap=True)
