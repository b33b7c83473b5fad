"""The listing under `composer report`'s table: which outputs failed or were refused, and why.

One line per failed output (system, instance, seed, then the graph, node and line where its
graph failed, or the error a model call or judge gave) and per refused one (the model and its
reason), the first `LIMIT` of each; every error with its traceback is in `report --format
jsonl` and on the HTML instance pages.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    status: str = "failed"
    """`failed` or `refused`."""


def failure_lines(store: RunStore, *, judge: str | None = None) -> list[FailureLine]:
    """Every failed or refused output (as `judge` scored it), in the order they were stored."""
    return [
        FailureLine(r.system, r.instance, r.seed, describe(r), r.status)
        for r in store.results(judge=judge)
        if r.status in ("failed", "refused")
    ]


def describe(result: Result) -> str:
    """Where and why `result` failed, in one line."""
    failure = result.failure
    if failure is None:
        return (result.error or "failed (no error recorded)").splitlines()[0]
    at = f" at {failure.location}" if failure.location else ""
    return f"{failure.where()}{at}: {failure.error.splitlines()[0]}"


def _groups(lines: list[FailureLine]) -> Iterator[tuple[str, list[FailureLine]]]:
    """The failed outputs, then the refused ones: (status, lines), each group not empty."""
    for status in ("failed", "refused"):
        group = [line for line in lines if line.status == status]
        if group:
            yield status, group


def markdown_failures(lines: list[FailureLine]) -> list[str]:
    """The listing as Markdown lines (none when no output failed or was refused)."""
    from composer.report.safe_text import markdown_text

    found: list[str] = []
    for status, group in _groups(lines):
        found += ["", f"### {status.capitalize()} outputs ({len(group)})", ""]
        found += [
            f"- {markdown_text(line.system)} / {markdown_text(line.instance)} (seed "
            f"{line.seed}): {markdown_text(line.text)}"
            for line in group[:LIMIT]
        ]
        if len(group) > LIMIT:
            found.append(f"- and {len(group) - LIMIT} more (every one: `--format jsonl`)")
    return found


def print_failures(console: Console, lines: list[FailureLine], run_dir: str) -> None:
    """Print the listing (nothing when no output failed or was refused)."""
    for status, group in _groups(lines):
        colour = "red" if status == "failed" else "yellow"
        outputs = "1 output" if len(group) == 1 else f"{len(group)} outputs"
        console.print(f"[bold {colour}]{status}[/]: {outputs}", highlight=False)
        for line in group[:LIMIT]:
            console.print(
                f"  {escape(line.system)} / {escape(line.instance)} (seed {line.seed}): "
                f"{escape(line.text)}",
                highlight=False,
                soft_wrap=True,
            )
        more = f"{len(group) - LIMIT} more; " if len(group) > LIMIT else ""
        console.print(
            f"  {more}every {'error' if status == 'failed' else 'reason'} in full: composer "
            f"report {escape(run_dir)} --format jsonl, or the HTML report's instance pages.",
            highlight=False,
            soft_wrap=True,
        )
