"""The summary of a run with several judges, its judges' part computed beside it on a second core.

With several UEG judges, `summarize` also summarizes the run once per judge (for the headline
comparisons under each) and measures how far the judges agree: about half of its time on the
demo. `summarize_beside` forks a child (where `composer.core.fork` allows) that summarizes under
each judge and measures their agreement, through a connection of its own
(`RunStore.reopened`: an SQLite connection is never used across a fork), while this process
summarizes the run. The parts are
the same computations on the same store, so the summary is the one `summarize` returns. A child
that does not deliver leaves its part to this process.
"""

from __future__ import annotations

import os

from composer.core.fork import beside
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
    if len(judges) < 2:
        return summarize(store, parser, judge=judge)
    headline = headline_parser(store, parser)
    latest = store.latest_run()
    seed = int(latest["seed"]) if latest else 0
    parent = os.getpid()

    def parts() -> JudgeParts:
        if os.getpid() == parent:  # not forked, or the child did not deliver
            return judge_parts(store, headline, judges, seed=seed)
        # In the child, through a store of its own: an SQLite connection never crosses a fork.
        own = RunStore.reopened(store.run_dir)  # checked whole before the fork
        try:
            return _judge_parts(own, headline, judges, seed)
        finally:
            own.close()

    return summarize(store, parser, judge=judge, judged=beside(parts, "composer-summary"))


def _judge_parts(
    store: RunStore, headline: Parser, judges: list[tuple[str, str]], seed: int
) -> JudgeParts:
    """In the child: each judge's summary and the judges' agreement."""
    return judge_parts(store, headline, judges, seed=seed)
