"""The `composer` command: parse arguments, build a config, call the library, print."""

from __future__ import annotations

import asyncio
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.console import Console
from rich.markup import escape

from composer.core.errors import ComposerError

if TYPE_CHECKING:
    from composer.report.summary import Parser

app = typer.Typer(
    name="composer",
    help="Compose specialist models as graphs and compare them with unified models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
if not out.is_terminal:
    out = Console(width=200)  # a report piped to a file keeps every column
err = Console(stderr=True, soft_wrap=True)


class Format(StrEnum):
    """Report formats."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"
    csv = "csv"
    html = "html"


class ListWhat(StrEnum):
    """What `composer list` lists."""

    graphs = "graphs"
    providers = "providers"
    benchmarks = "benchmarks"


def _fail(error: ComposerError) -> None:
    err.print(f"[bold red]error[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    raise typer.Exit(error.exit_code)


def _at_least_one(option: str, value: int | None) -> None:
    """Counts from the command line: nonsense values stop before anything is written."""
    from composer.core.errors import ConfigError

    if value is not None and value < 1:
        raise ConfigError(option, f"must be 1 or more (got {value}).", "Pass a positive number.")


def _seed_list(text: str) -> tuple[int, ...]:
    """`--seeds 0,1,2` as a tuple of distinct whole numbers."""
    from composer.core.errors import ConfigError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if not values or len(set(values)) != len(values):
        raise ConfigError(
            "--seeds",
            f"takes distinct whole numbers separated by commas (got {text!r}).",
            "Pass e.g. --seeds 0,1,2.",
        )
    return values


def _writable(option: str, path: Path, *, is_folder: bool) -> None:
    """`path` can become the folder (or file) `option` asks for: nothing in the way."""
    from composer.core.errors import ConfigError

    if path.exists() and path.is_dir() != is_folder:
        kind = "a file" if is_folder else "a folder"
        raise ConfigError(
            f"{option} {str(path)!r}",
            f"is {kind}, not {'a folder' if is_folder else 'a file'}.",
            "Pass another path.",
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(
                    f"{option} {str(path)!r}",
                    f"lies under {str(parent)!r}, which is a file.",
                    "Pass a path under a folder.",
                )
            break


def _run(
    config: Any,
    run_dir: Path,
    *,
    quiet: bool,
    retry_failed: bool = False,
    rerun: tuple[str, ...] = (),
) -> Any:
    from composer.evaluation.runner import Runner
    from composer.report.progress import RunProgress

    runner = Runner(config, run_dir, retry_failed=retry_failed, rerun=rerun)
    progress = RunProgress(runner, err, enabled=not quiet)
    runner.on_progress = progress.advance
    try:
        with progress:
            return asyncio.run(runner.run())
    except KeyboardInterrupt:
        done = sum(1 for _ in runner.store.results())
        err.print(
            f"\n[yellow]stopped[/]: {done} results are saved in {run_dir}. "
            "Run the same command again to resume."
        )
        raise typer.Exit(130) from None
    finally:
        runner.close()


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="A TOML run file (see examples/).")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/<config name>).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most N instances per category.")] = None,
    systems: Annotated[str | None, typer.Option(help="Comma-separated systems to run.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Instances in flight at once.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
    retry_failed: Annotated[
        bool, typer.Option(help="On resume, run failed instances again (cached calls replay).")
    ] = False,
    rerun: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated systems to run again from scratch: their results and "
            "judgments are dropped (a changed definition needs this); cached calls replay."
        ),
    ] = None,
) -> None:
    """Run the systems of CONFIG; rerunning on the same run directory resumes it.

    Exit status: 0 when every task ended ok, refused or unscored; 1 when any task failed
    (rerun with --retry-failed); 2 for a configuration error (nothing written); 130 on Ctrl-C.
    """
    from composer.core.config import load_config

    try:
        _at_least_one("--limit", limit)
        _at_least_one("--concurrency", concurrency)
        run_dir = out_dir or Path("runs") / config.stem
        _writable("--out", run_dir, is_folder=True)
        cfg = load_config(config)
        if systems:
            cfg = cfg.select([s.strip() for s in systems.split(",") if s.strip()])
        if limit is not None:
            cfg = cfg.model_copy(
                update={"benchmark": cfg.benchmark.model_copy(update={"limit": limit})}
            )
        if concurrency is not None:
            cfg = cfg.model_copy(update={"concurrency": concurrency})
        names = tuple(n.strip() for n in (rerun or "").split(",") if n.strip())
        summary = _run(cfg, run_dir, quiet=quiet, retry_failed=retry_failed, rerun=names)
        _print_table(run_dir)
    except ComposerError as error:
        _fail(error)
    _print_summary(summary, run_dir)


def _print_summary(summary: Any, run_dir: Path) -> None:
    """The last lines of a run: what it did, and whether the run is complete (exit 1 if not)."""
    statuses = ", ".join(f"{v} {k}" for k, v in sorted(summary.statuses.items())) or "nothing new"
    rejudged = f", {summary.rejudged} outputs judged again" if summary.rejudged else ""
    err.print(
        f"{summary.tasks} tasks run ({statuses}){rejudged}, {summary.skipped} already done; "
        f"{summary.calls_sent} calls sent, {summary.calls_cached} from cache; "
        f"{summary.seconds:.1f} s. Run directory: {run_dir}",
        highlight=False,
    )
    if summary.failed:
        err.print(
            f"[bold red]incomplete[/]: {summary.failed} tasks failed (see `composer report "
            f"{run_dir} --format jsonl` for the errors); rerun with --retry-failed.",
            highlight=False,
        )
        raise typer.Exit(1)


def _print_table(
    run_dir: Path,
    parser: str | None = None,
    judge: str | None = None,
    *,
    all_pairs: bool = False,
) -> None:
    from composer.evaluation.store import RunStore
    from composer.report.summary import summarize
    from composer.report.terminal import print_report

    store = RunStore(run_dir, read_only=True)
    try:
        report = summarize(store, cast("Parser | None", parser), judge=judge)
    finally:
        store.close()
    print_report(out, report, all_pairs=all_pairs)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Write to this file instead of standard output "
            "(html: to this folder, default RUN_DIR/report)."
        ),
    ] = None,
    parser: Annotated[
        str | None, typer.Option(help="Headline parser: official or strict (default: the run's).")
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            help="Show the UEG scores of this stored judge (its model, e.g. symbolic/reasoner); "
            "default: the run file's current judge."
        ),
    ] = None,
    all_pairs: Annotated[
        bool,
        typer.Option(
            help="Table: list every paired comparison, not only composed vs unified and "
            "stepwise vs direct."
        ),
    ] = False,
) -> None:
    """Summarise a run: accuracy per system, axis and category, and the comparisons."""
    from composer.evaluation.store import RunStore
    from composer.report.summary import summarize
    from composer.report.tables import render

    try:
        _check_run(run_dir, parser)
        if output is not None:
            _writable("--output", output, is_folder=fmt is Format.html)
        if fmt is Format.html:
            index = _write_html(run_dir, output or run_dir / "report", parser, judge)
            out.print(str(index), highlight=False, soft_wrap=True)
            return
        if fmt is Format.table and output is None:
            _print_table(run_dir, parser, judge, all_pairs=all_pairs)
            return
        store = RunStore(run_dir, read_only=True)
        try:
            report_data = summarize(store, cast("Parser | None", parser), judge=judge)
            text = render(report_data, "markdown" if fmt is Format.table else fmt.value, store)
        finally:
            store.close()
    except ComposerError as error:
        _fail(error)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")


def _check_run(run_dir: Path, parser: str | None) -> None:
    from composer.core.errors import ConfigError

    if not (run_dir / "run.db").exists():
        raise ConfigError(
            str(run_dir), "holds no run.db.", "Pass a folder written by composer run."
        )
    if parser not in (None, "official", "strict"):
        raise ConfigError("--parser", f"must be official or strict (got {parser!r}).")


def _write_html(
    run_dir: Path, folder: Path, parser: str | None = None, judge: str | None = None
) -> Path:
    from composer.evaluation.store import RunStore
    from composer.report.html import write_html

    store = RunStore(run_dir, read_only=True)
    try:
        return write_html(store, folder, parser=cast("Parser | None", parser), judge=judge)
    finally:
        store.close()


@app.command()
def compare(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    a: Annotated[str, typer.Argument(help="System A.")],
    b: Annotated[str, typer.Argument(help="System B.")],
    parser: Annotated[
        str | None, typer.Option(help="official or strict (default: the run's).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Bootstrap seed (default: the run's seed).")
    ] = None,
    show: Annotated[int, typer.Option(help="List at most N differing instances.")] = 50,
    judge: Annotated[
        str | None,
        typer.Option(help="Compare UEG scores of this stored judge (default: the current one)."),
    ] = None,
    per: Annotated[
        str | None,
        typer.Option(
            help="Also show accuracy per unit of budget: 'image' (points per image generated "
            "per instance) or 'usd' (points per dollar spent per instance)."
        ),
    ] = None,
) -> None:
    """Compare two systems instance by instance: the paired table, McNemar, and what differs.

    With several run seeds an instance counts by its pass rate over seeds (sign test; cluster
    bootstrap over instances and seeds, and judges when the run has several).
    """
    from composer.core.errors import ConfigError
    from composer.evaluation.store import RunStore
    from composer.report import budget, judging, noise, stats
    from composer.report.judging import resolve_judge

    try:
        _check_run(run_dir, parser)
        if show < 0:
            raise ConfigError(
                "--show",
                f"must be 0 or more (got {show}).",
                "Pass how many differing instances to list.",
            )
        if per not in (None, "image", "usd"):
            raise ConfigError(
                "--per", f"must be image or usd (got {per!r}).", "Pass --per image or --per usd."
            )
        store = RunStore(run_dir, read_only=True)
        try:
            latest = store.latest_run()
            chosen = cast(
                "Parser", parser or (latest["config"]["judge"]["parser"] if latest else "official")
            )
            judge_id, judge_label = resolve_judge(store, judge)
            results = list(store.results(judge=judge_id, parser=chosen))
            judge_ids = [i for i, _ in judging.run_judges(store)]
            judge_ids.sort(key=lambda i: i != judge_id)
            scores = None
            if len(judge_ids) > 1:
                scores = noise.judge_scores(store.score_rows(), chosen)
            grouped = noise.outcomes(results, parser=chosen, judges=judge_ids, scores=scores)
            spent = budget.per_system(stats.costs(store.call_rows(), results), results, chosen)
            definitions = store.system_definitions()
        finally:
            store.close()
        for name in (a, b):
            if name not in grouped:
                known = ", ".join(sorted(grouped)) or "none"
                raise ConfigError(
                    f"system {name!r}", "has no results in this run.", f"Systems: {known}."
                )
        run_seed = int(latest["seed"]) if latest and seed is None else (seed or 0)
        rows = noise.compare(a, b, grouped, parser=chosen, seed=run_seed)
        if not rows[0].n:
            raise ConfigError(
                f"compare {a!r} and {b!r}",
                f"the two systems share no instance ({len(grouped[a].grids)} and "
                f"{len(grouped[b].grids)} "
                "results, none for the same instance), so there is nothing to pair.",
                "Compare systems run on the same instances (the same benchmark, categories "
                "and limit).",
            )
        swaps = [s for s in stats.single_role_swaps(definitions) if {s[0], s[1]} == {a, b}]
    except ComposerError as error:
        _fail(error)
    from composer.report.terminal import compare_layouts, print_fitted

    title = (
        f"{a} (A) vs {b} (B), parser {chosen}, judge {judge_label or '-'}, "
        f"bootstrap seed {run_seed}"
    )
    print_fitted(out, compare_layouts(title, rows, run_seed))
    if rows[0].noise != "instances":
        out.print(
            f"  The 95% CI includes the noise of {rows[0].noise} (cluster bootstrap); A % and "
            "B % are mean pass rates over seeds; p: exact sign test on per-instance pass rates.",
            highlight=False,
        )
    difference = budget.spend(spent.get(a), spent.get(b))
    if difference:
        out.print(f"  The two spend differently: {budget.spend_note(difference)}.", highlight=False)
    if per is not None:
        unit = cast("budget.Unit", per)
        label = "image generated" if unit == "image" else "dollar"
        for p in rows:
            values = [
                budget.per_unit(p.accuracy_a, spent.get(a), unit),
                budget.per_unit(p.accuracy_b, spent.get(b), unit),
            ]
            shown = ["-" if v is None else f"{v:.4g}" for v in values]
            out.print(
                f"  {p.scope}: accuracy points per {label} per instance: "
                f"A {shown[0]}, B {shown[1]}",
                highlight=False,
            )
    for a_sys, b_sys, axis, role in swaps:
        bound = (
            definitions[a_sys]["axes"][axis]["roles"][role],
            definitions[b_sys]["axes"][axis]["roles"][role],
        )
        out.print(
            f"  {axis}: the systems differ only in role {escape(role)!r} "
            f"({escape(a_sys)}: {escape(bound[0])}, {escape(b_sys)}: {escape(bound[1])}), "
            "so the difference is that role's.",
            highlight=False,
        )
    differing = rows[0].differing
    several = rows[0].seeds > 1
    right = "passes more seeds" if several else "right"
    out.print(
        f"{len(differing)} instances differ (A {right}, B not: {rows[0].only_a}; "
        f"B {right}, A not: {rows[0].only_b})" + (":" if differing else "."),
        highlight=False,
    )
    rates_a, rates_b = grouped[a].rates(), grouped[b].rates()
    for instance, category, right_a, _ in differing[:show]:
        winner = "A" if right_a else "B"
        what = (
            f"pass rate A {rates_a[instance]:.2f}, B {rates_b[instance]:.2f}"
            if several
            else f"only {winner} right"
        )
        out.print(f"  {escape(instance):<24} {escape(category):<26} {what}", highlight=False)
    if len(differing) > show:
        out.print(f"  ... and {len(differing) - show} more (--show N)", highlight=False)


class ExportFormat(StrEnum):
    """Export formats."""

    realunify = "realunify"


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    output: Annotated[Path, typer.Option(help="Folder to write into (one subfolder per system).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Export format.")] = (
        ExportFormat.realunify
    ),
    systems: Annotated[str | None, typer.Option(help="Comma-separated systems to export.")] = None,
) -> None:
    """Write a run's outputs as RealUnify result files, for the released scripts or `import`."""
    from composer.evaluation.store import RunStore
    from composer.report.export import export_realunify

    try:
        _check_run(run_dir, None)
        _writable("--output", output, is_folder=True)
        store = RunStore(run_dir, read_only=True)
        try:
            names = [s.strip() for s in systems.split(",")] if systems else None
            folders = export_realunify(store, output, names)
        finally:
            store.close()
    except ComposerError as error:
        _fail(error)
    for folder in folders:
        files = ", ".join(sorted(p.name for p in folder.glob("*.json")))
        out.print(f"{folder}: {files}", highlight=False)


@app.command("list")
def list_(
    what: Annotated[ListWhat, typer.Argument(help="graphs, providers or benchmarks.")],
) -> None:
    """List the registered graphs, providers or benchmarks."""
    if what is ListWhat.graphs:
        from composer.graphs.base import graphs

        for name, entry in sorted(graphs().items()):
            axes = ",".join(sorted(a.value for a in entry.axes))
            out.print(
                f"{name:<26} {axes:<8} {entry.description.split(': ', 1)[-1]}", highlight=False
            )
    elif what is ListWhat.providers:
        from composer.specialists.registry import PROVIDER_INFO, providers

        for name, target in sorted(providers().items()):
            can, example = PROVIDER_INFO.get(name, (f"a plugin ({target})", f"{name}/<model>"))
            out.print(f"{name:<18} {example:<46} {can}", highlight=False)
    else:
        from composer.benchmarks.loaders import BENCHMARKS

        for name, (_, description) in BENCHMARKS.items():
            out.print(f"{name:<12} {description}", highlight=False)


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
        _at_least_one("--n-per-category", n_per_category)
        _writable("--out", out_dir, is_folder=True)
    except ComposerError as error:
        _fail(error)
    write_suite(out_dir, n_per_category=n_per_category, seed=seed, difficulty=difficulty)  # type: ignore[arg-type]
    out.print(f"wrote {n_per_category * 10} instances to {out_dir}")


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
) -> None:
    """Run composed and unified systems on the synthetic suite, offline, and compare them."""
    from composer.synthetic.demo import demo_config

    try:
        _at_least_one("--n-per-category", n_per_category)
        _writable("--out", out_dir, is_folder=True)
        run_seeds = _seed_list(seeds) if seeds is not None else None
        cfg = demo_config(n_per_category=n_per_category, seed=seed, seeds=run_seeds)
        summary = _run(cfg, out_dir, quiet=quiet)
        _print_table(out_dir)
        index = _write_html(out_dir, out_dir / "report")
    except ComposerError as error:
        _fail(error)
    err.print(
        f"{summary.tasks} tasks in {summary.seconds:.1f} s. Run directory: {out_dir} "
        f"(suite in {out_dir / 'suite'}). Compare two systems with "
        f"`composer compare {out_dir} oracle naive-stepwise`. HTML report:"
    )
    out.print(str(index), highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point of the console script."""
    app()


if __name__ == "__main__":
    main()
