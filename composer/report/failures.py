"""The failure listing under `composer report`'s table: which instances failed, where and why.

One line per failed output (system, instance, seed, then the graph, node and line where its
graph failed, or the error a model call or judge gave), the first `LIMIT` of them; every error
with its traceback is in `report --format jsonl` and on the HTML instance pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

from composer.evaluation.store import Result, RunStore

LIMIT = 10
"""Failed outputs listed one by one; the rest are counted."""


@dataclass(frozen=True)
class FailureLine:
    """One failed output, as the listing shows it."""

    system: str
    instance: str
    seed: int
    text: str


def failure_lines(store: RunStore, *, judge: str | None = None) -> list[FailureLine]:
    """Every failed output of the run (as `judge` scored it), in the order they were stored."""
    return [
        FailureLine(r.system, r.instance, r.seed, describe(r))
        for r in store.results(judge=judge)
        if r.status == "failed"
    ]


def describe(result: Result) -> str:
    """Where and why `result` failed, in one line."""
    failure = result.failure
    if failure is None:
        return (result.error or "failed (no error recorded)").splitlines()[0]
    at = f" at {failure.location}" if failure.location else ""
    return f"{failure.where()}{at}: {failure.error.splitlines()[0]}"


def print_failures(console: Console, lines: list[FailureLine], run_dir: str) -> None:
    """Print the listing (nothing when no output failed)."""
    if not lines:
        return
    outputs = "1 output" if len(lines) == 1 else f"{len(lines)} outputs"
    console.print(f"[bold red]failed[/]: {outputs}", highlight=False)
    for line in lines[:LIMIT]:
        console.print(
            f"  {escape(line.system)} / {escape(line.instance)} (seed {line.seed}): "
            f"{escape(line.text)}",
            highlight=False,
            soft_wrap=True,
        )
    more = f"{len(lines) - LIMIT} more; " if len(lines) > LIMIT else ""
    console.print(
        f"  {more}every error with its traceback: composer report {escape(run_dir)} "
        "--format jsonl, or the HTML report's instance pages.",
        highlight=False,
        soft_wrap=True,
    )
