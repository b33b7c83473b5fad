"""The live progress display of a run: one bar per system, call counts and endpoint limits."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from composer.evaluation.runner import Runner
    from composer.evaluation.store import Result


class RunProgress:
    """A rich progress display fed by the runner's `on_progress` callback.

    One bar per system counts this invocation's tasks: outputs to produce, and stored
    outputs to judge again.
    """

    def __init__(self, runner: Runner, console: Console, *, enabled: bool = True) -> None:
        """Prepare one bar per system of `runner`."""
        self.runner = runner
        self.enabled = enabled and console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),  # a system name is not markup
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}", markup=False),
            TimeElapsedColumn(),
            console=console,
            disable=not self.enabled,
        )
        self.bars: dict[str, Any] = {}
        self.failures: Counter[str] = Counter()
        planned = Counter(task.system.name for task in runner.tasks)
        for system in runner.systems:
            self.bars[system.name] = self.progress.add_task(
                system.name, total=planned[system.name], completed=0, note=""
            )
        self.calls = self.progress.add_task("calls", total=None, note="")

    def advance(self, system: str, result: Result) -> None:
        """Count one finished result."""
        if result.status != "ok":
            self.failures[system] += 1
        note = f"{self.failures[system]} not ok" if self.failures[system] else ""
        self.progress.update(self.bars[system], advance=1, note=note)
        stats = self.runner.layer.stats
        limits = " ".join(f"{k}≤{v.current}" for k, v in self.runner.layer.limits.items())
        notes = "; ".join(
            f"{name}: {note}"
            for name, specialist in self.runner.specialists.items()
            if (note := specialist.progress_note())
        )
        if notes:
            limits += f"  {notes}"
        self.progress.update(
            self.calls,
            note=f"{stats.sent} sent, {stats.cached} cached, {stats.retried} retried  {limits}",
        )

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)
