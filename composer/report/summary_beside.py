"""The summary of a run with several judges, its judges' part computed beside it on a second core.

With several UEG judges, `summarize` also summarizes the run once per judge (for the headline
comparisons under each) and measures how far the judges agree: about half of its time on the
demo. `summarize_beside` forks a child (where `composer.core.fork` allows) that summarizes under
each judge and measures their agreement, through its own `RunStore` opened by path (an SQLite
connection is never used across a fork), while this process summarizes the run. The parts are
the same computations on the same store, so the summary is the one `summarize` returns. A child
that does not deliver leaves its part to this process.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection, Pipe
from pathlib import Path

from composer.core.fork import fork_is_safe, start_forked
from composer.core.instance import Parser
from composer.evaluation.store import RunStore
from composer.report import judging
from composer.report.model import Report
from composer.report.summary import JudgeParts, headline_parser, judge_parts, summarize


def summarize_beside(
    store: RunStore, parser: Parser | None = None, *, judge: str | None = None
) -> Report:
    """`summarize(store, parser, judge=judge)`; with several judges, their part beside it.

    Their part: each judge's own summary and their agreement (`summary.judge_parts`).
    """
    judges = judging.run_judges(store)
    if len(judges) < 2 or not fork_is_safe():
        return summarize(store, parser, judge=judge)
    headline = headline_parser(store, parser)
    latest = store.latest_run()
    seed = int(latest["seed"]) if latest else 0
    receiving, sending = Pipe(duplex=False)
    child = start_forked(
        _judge_parts, (store.run_dir, headline, judges, seed, sending), "composer-summary"
    )
    sending.close()

    def judged() -> JudgeParts:
        try:
            parts: JudgeParts = receiving.recv()
        except (EOFError, OSError):  # no child, or it ended without its part: computed here
            parts = judge_parts(store, headline, judges, seed=seed)
        finally:
            receiving.close()
            if child is not None:
                child.join()
        return parts

    return summarize(store, parser, judge=judge, judged=judged)


def _judge_parts(
    run_dir: Path,
    headline: Parser,
    judges: list[tuple[str, str]],
    seed: int,
    sending: Connection,
) -> None:
    """In the child: each judge's summary and the judges' agreement, sent back."""
    try:
        store = RunStore(run_dir)
        try:
            sending.send(judge_parts(store, headline, judges, seed=seed))
        finally:
            store.close()
    except Exception:  # noqa: BLE001 - the parent computes this part again and raises there
        sys.exit(1)
