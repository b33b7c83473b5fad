"""The commands that make a run and read it: `run` and `report`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from composer.cli.base import (
    _at_least_one,
    _check_run,
    _fail,
    _outside_store,
    _writable,
    app,
    err,
    out,
)
from composer.cli.html_ahead import HtmlAhead, write_html
from composer.core.errors import ComposerError

if TYPE_CHECKING:
    from composer.core.config import RunConfig
    from composer.core.instance import Parser
    from composer.report.model import Report


class Format(StrEnum):
    """Report formats."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"
    csv = "csv"
    html = "html"
    latex = "latex"


def _run(
    config: Any,
    run_dir: Path,
    *,
    quiet: bool,
    retry_failed: bool = False,
    rerun: tuple[str, ...] = (),
    split: bool = False,
    split_when: int | None = None,
) -> Any:
    from composer.cli.progress import RunProgress
    from composer.evaluation.runner import Runner

    runner = Runner(
        config, run_dir, retry_failed=retry_failed, rerun=rerun, split=split, split_when=split_when
    )
    for line in runner.layer.below_the_run():  # a model's own ceiling caps the run: say so
        err.print(f"note: {line}", markup=False, highlight=False)
    for line in runner.plan.idle_systems():
        err.print(f"note: {line}", markup=False, highlight=False)
    progress = RunProgress(runner, err, enabled=not quiet)
    runner.on_progress = progress.advance
    previous = _stop_on_sigterm()
    try:
        # The table goes to standard output once the run ends: what a node prints meanwhile
        # goes to standard error (above the progress display), so `> table.txt` holds the table.
        with contextlib.redirect_stdout(sys.stderr), progress:
            return asyncio.run(runner.run())
    except KeyboardInterrupt as stop:
        done = sum(1 for _ in runner.store.reader.results())
        err.print(
            f"\n[yellow]stopped[/]{' (SIGTERM)' if isinstance(stop, _Terminated) else ''}: "
            f"{done} results are saved in {run_dir}. Run the same command again to resume."
        )
        raise typer.Exit(143 if isinstance(stop, _Terminated) else 130) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        runner.close()


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler ending a job, `kill`): the run stops as on Ctrl-C, exit 143."""


def _stop_on_sigterm() -> Any:
    """Make SIGTERM stop the run as Ctrl-C does (saved results said, then exit 143).

    Returns the handler it replaced, or None where none can be set (not the main thread).
    """

    def stop(signum: int, frame: Any) -> None:
        raise _Terminated

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, stop)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="A TOML run file (see examples/).")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/<config name>).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most N instances per category.")] = None,
    instances: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated instance ids or glob patterns (e.g. UEG-1,GEU-*): run only "
            "those; the report says the run was filtered."
        ),
    ] = None,
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
    (rerun with --retry-failed); 2 for a configuration error (nothing written); 130 on Ctrl-C,
    143 on SIGTERM (what is done is kept).
    """
    from composer.core.config import load_config
    from composer.core.errors import ConfigError

    try:
        _at_least_one("--limit", limit)
        _at_least_one("--concurrency", concurrency)
        run_dir = out_dir or Path("runs") / config.stem
        _writable("--out", run_dir, is_folder=True)
        cfg = load_config(config)
        _apart_from_data(run_dir, cfg)
        if systems is not None:  # `--systems ","` names none: an error, not an empty run
            cfg = cfg.select([s.strip() for s in systems.split(",") if s.strip()])
        if limit is not None:
            cfg = cfg.model_copy(
                update={"benchmark": cfg.benchmark.model_copy(update={"limit": limit})}
            )
        if instances is not None:
            cfg = _select_instances(cfg, instances)
        if concurrency is not None:
            cfg = cfg.model_copy(update={"concurrency": concurrency})
        names = tuple(n.strip() for n in (rerun or "").split(",") if n.strip())
        if rerun is not None and not names:
            raise ConfigError("--rerun", "names no system.", "Pass e.g. --rerun oracle.")
        summary = _run(cfg, run_dir, quiet=quiet, retry_failed=retry_failed, rerun=names)
        _print_table(run_dir)
    except ComposerError as error:
        _fail(error)
    _print_summary(summary, run_dir)


def _select_instances(cfg: Any, text: str) -> Any:
    """`cfg` running only the instances `--instances` names (ids or glob patterns)."""
    from composer.core.errors import ConfigError

    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    if not patterns:
        raise ConfigError(
            "--instances", f"names no instance (got {text!r}).", "Pass e.g. UEG-1,GEU-*."
        )
    bench = cfg.benchmark.model_copy(update={"instances": patterns})
    return cfg.model_copy(update={"benchmark": bench})


def _print_summary(summary: Any, run_dir: Path) -> None:
    """The last lines of a run: what it did, and whether the run is complete (exit 1 if not)."""
    statuses = ", ".join(f"{v} {k}" for k, v in sorted(summary.statuses.items())) or "nothing new"
    rejudged = f", {summary.rejudged} outputs judged again" if summary.rejudged else ""
    unanswered = summary.requests_unanswered
    more = f" ({unanswered} more requests got no answer)" if unanswered else ""
    err.print(
        f"{summary.tasks} tasks run ({statuses}){rejudged}, {summary.skipped} already done; "
        f"{summary.calls_sent} calls sent{more}, {summary.calls_cached} from cache; "
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
) -> Report:
    report, failures = _summary(run_dir, parser, judge)
    _print_summary_table(run_dir, report, failures, all_pairs=all_pairs)
    return report


def _summary(
    run_dir: Path, parser: str | None = None, judge: str | None = None
) -> tuple[Report, list[Any]]:
    """The run's summary and its failure lines, read from the store."""
    from composer.evaluation.store import RunStore
    from composer.report.failures import failure_lines
    from composer.report.summary_beside import summarize_beside

    store = RunStore(run_dir)
    try:
        report = summarize_beside(store, cast("Parser | None", parser), judge=judge)
        return report, failure_lines(store, judge=report.get("judge_id"))
    finally:
        store.close()


def _print_summary_table(
    run_dir: Path, report: Report, failures: list[Any], *, all_pairs: bool = False
) -> None:
    from composer.report.failures import print_failures
    from composer.report.terminal import print_report

    print_report(out, report, all_pairs=all_pairs)
    print_failures(out, failures, str(run_dir))


def _table_and_html(run_dir: Path, folder: Path, ahead: HtmlAhead | None = None) -> Path:
    """Print the run's table and write its HTML report into `folder`; the index's path.

    Both only read the store, from one summary: the report is written by a forked writer
    (`ahead`, started earlier so that its imports are loaded; else one forked now, where
    forking is safe) while this process prints the table; one that did not write it leaves it
    to this process, which raises whatever went wrong. A report large enough to write its pages
    on every core itself (`report.page_shares`) is written here, after the table: a forked
    child could not fork its own.
    """
    from composer.report.page_shares import FORK_FROM

    report, failures = _summary(run_dir)
    wrote: Callable[[], bool] | None = None
    if _instances_shown(report) < FORK_FROM:
        ahead = ahead or HtmlAhead.start()
        wrote = ahead.write(run_dir, folder, report) if ahead is not None else None
    elif ahead is not None:
        ahead.cancel()
    _print_summary_table(run_dir, report, failures)
    if wrote is not None and wrote():
        return folder / "index.html"
    return write_html(run_dir, folder, report=report)


def _instances_shown(report: Report) -> int:
    """About how many instances the report shows: the most any system has results of, a seed."""
    per_system = (
        sum(entry[axis]["counts"]["n"] for axis in ("UEG", "GEU") if axis in entry)
        for entry in report["systems"].values()
    )
    return max(per_system, default=0) // max(1, len(report["seeds"]))


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
    figures: Annotated[
        Path | None,
        typer.Option(
            help="Also write vector figures (SVG and PDF) into this folder: accuracy with "
            "seed error bars, and the paired differences with their intervals."
        ),
    ] = None,
) -> None:
    """Summarise a run: accuracy per system, axis and category, and the comparisons."""
    from composer.evaluation.store import RunStore
    from composer.report.summary import summarize
    from composer.report.tables import render

    try:
        _check_run(run_dir, parser)
        if output is not None:
            _outside_store("--output", output, run_dir)
            _writable("--output", output, is_folder=fmt is Format.html)
        if figures is not None:
            _outside_store("--figures", figures, run_dir)
            _writable("--figures", figures, is_folder=True)
            _write_figures(run_dir, figures, parser, judge)
        if fmt is Format.html:
            index = write_html(run_dir, output or run_dir / "report", parser, judge)
            out.print(str(index), highlight=False, soft_wrap=True)
            return
        if fmt is Format.table and output is None:
            _print_table(run_dir, parser, judge, all_pairs=all_pairs)
            return
        store = RunStore(run_dir)
        try:
            report_data = summarize(store, cast("Parser | None", parser), judge=judge)
            if fmt is Format.latex:
                from composer.report.latex import latex

                text = latex(report_data, run_dir.resolve().name)
            else:
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


def _apart_from_data(run_dir: Path, cfg: RunConfig) -> None:
    """The run folder is none of the folders the run reads (its benchmark, an import)."""
    from composer.core.errors import ConfigError

    read = [("[benchmark] path", cfg.benchmark.path)]
    read += [(f"[systems.{n}] import", s.import_dir) for n, s in cfg.systems.items()]
    target = run_dir.resolve()
    for what, folder in read:
        if folder is not None and cfg.resolve(folder) == target:
            raise ConfigError(
                f"--out {str(run_dir)!r}",
                f"is the folder {what} reads: the run would write its run.db and images/ "
                "among that folder's files.",
                "Give the run a folder of its own, e.g. --out runs/NAME.",
            )


def _write_figures(run_dir: Path, folder: Path, parser: str | None, judge: str | None) -> None:
    from composer.evaluation.store import RunStore
    from composer.report.figures import write_figures
    from composer.report.summary import summarize

    store = RunStore(run_dir)
    try:
        report_data = summarize(store, cast("Parser | None", parser), judge=judge)
    finally:
        store.close()
    for path in write_figures(report_data, folder):
        err.print(f"wrote {path}", highlight=False)
