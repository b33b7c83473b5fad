"""The instance pages of a large report written on every core: forked children take a share.

A page costs about a millisecond of CPU per system, nearly all of it Python (decoding each
call's request and reply, building and escaping the HTML), so a 10,000-instance report's pages
are seconds that one core spends alone. `PageShares` cuts the instance list into contiguous runs
of `RUN` pages; one child per extra core (forked once the store has been read whole, so it
holds the results, the instances and the page context already) and this process take the next
run, write it and mark it done, until none is left. Runs taken as they come, not a half each:
a UEG page shows twice the calls of a GEU page, and this process also starts the thumbnails and
charts meanwhile, so fixed halves finish seconds apart. Each child opens a connection of its
own (`RunStore.reopened`; an SQLite connection is never used across a fork), without checking
again the pages this process checked and read before the fork. A page depends only on its
instance, its results and its place in the whole list, so the pages are byte for byte those
one process writes.

The children can be forked before the report may write (`held=True`): the summary, whose
checks refuse a damaged store, is then computed while they make pages. A child holds what it
makes in memory (`HOLD_BYTES` among them all) until `open` is called, then writes it and goes
on; where the report fails first, the children are stopped and nothing of theirs is written.
A run is marked done only once its pages are on disk.

Nothing is forked for a small report, where `fork` is not how processes start, beside other
threads or inside an event loop (`composer.core.fork`): this process then writes every page.
A child that does not finish leaves no report short of pages: every run not marked done is
written here once the children have ended, which raises what one process would have raised.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from composer.core.fork import Turns, fork_is_safe, start_forked
from composer.core.instance import Instance
from composer.evaluation.store import Result, RunStore
from composer.report.pages import PAGE_BATCH, PageContext, PageWriter, write_changed

FORK_FROM = 1000
"""Instances from which the pages are shared out. A child cost 0.2 to 0.3 s of CPU before its
first page (the fork, its own store opened and checked; it is no longer checked, see `_child`):
at 400 instances x 6 systems this process spent 0.1 to 0.2 s less on pages and the child 0.3
to 0.45 s, at 1,000 x 6 this process 0.8 s less (2.7 -> 1.9 s) and the child 0.9 s."""

RUN = 4 * PAGE_BATCH
"""Pages a process takes at a time, at most (fewer in a smaller report): whole batches of
`PageWriter`'s queries."""

HOLD_BYTES = 32 * 1024 * 1024
"""Page bytes the children hold, at most, before the report may write (each its share of it,
so that more cores do not hold more): then they wait. On two cores the child makes about 1,500
pages of a 10,000 x 6 report (30 MB) while the summary is computed."""

WAIT_S = 0.5
"""How often a waiting child looks whether the report that forked it still runs."""


@dataclass
class _Runs:
    """The runs of pages, the next one to take and which are written, shared across the fork."""

    runs: list[range]
    turns: Turns
    """Which runs are taken, shared across the fork."""
    done: Any
    """One shared flag per run (`multiprocessing.Array`): set once its pages are written."""


@contextmanager
def read_whole() -> Iterator[None]:
    """Read the store whole inside: the collector is paused, then what was read is frozen.

    Reading 60,000 results and 10,000 instances builds objects that all live until the pages
    are written; the collector walked them again and again as they grew (1.4 of the 4.6 s of
    CPU the two reads took at 10,000 x 6), then once more when it was let go. `PageShares`
    unfreezes them when the pages are written.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()  # not where the read failed: nothing unfreezes it then
    finally:
        if enabled:
            gc.enable()


def _write_runs(pages: PageWriter, runs: _Runs) -> None:
    """Take runs of pages and write them until none is left."""
    while (k := runs.turns.take()) is not None:
        pages.write(runs.runs[k])
        runs.done[k] = 1


class _Held:
    """In a child forked before the report may write: the pages it makes, held until `opened`.

    Its `put` stands for `write_changed`; `done` marks a run whose pages were all put: at
    once where the report may write, else once the held pages are written.
    """

    def __init__(self, opened: Any, runs: _Runs, parent: int, most: int) -> None:
        self.opened, self.runs, self.parent, self.most = opened, runs, parent, most
        self.pages: list[tuple[Path, bytes]] | None = None if opened.is_set() else []
        self.bytes = 0
        self.held_runs: list[int] = []

    def put(self, path: Path, data: bytes) -> None:
        if self.pages is None:
            write_changed(path, data)
            return
        self.pages.append((path, data))
        self.bytes += len(data)
        if self.bytes >= self.most:
            self.write_when_open()

    def done(self, k: int) -> None:
        if self.pages is None:
            self.runs.done[k] = 1
            return
        self.held_runs.append(k)
        if self.opened.is_set():
            self.write_when_open()

    def write_when_open(self) -> None:
        """Wait until the report may write (exit where it is gone), then write what is held."""
        if self.pages is None:
            return
        while not self.opened.wait(WAIT_S):
            if os.getppid() != self.parent:  # the report ended without opening: write nothing
                os._exit(0)
        for path, data in self.pages:
            write_changed(path, data)
        for k in self.held_runs:
            self.runs.done[k] = 1
        self.pages, self.bytes, self.held_runs = None, 0, []


def _child(
    ctx: PageContext,
    run_dir: Path,
    instances: list[Instance],
    results: Mapping[str, Mapping[str, Result]],
    runs: _Runs,
    opened: Any,
    parent: int,
    most: int,
) -> None:
    """In a child: write runs of pages through a store of its own; exit 1 on a failure.

    Until `opened` is set, the pages are held (`_Held`, at most `most` bytes), and written
    once it is.
    """
    try:
        store = RunStore.reopened(run_dir)  # checked whole before the fork
        try:
            pages = PageWriter(ctx, store, instances, results)
            held = _Held(opened, runs, parent, most)
            pages.put = held.put
            while (k := runs.turns.take()) is not None:
                pages.write(runs.runs[k])
                held.done(k)
            held.write_when_open()
        finally:
            store.close()
    except Exception:  # noqa: BLE001 - the parent writes the run again and raises there
        sys.exit(1)


class PageShares:
    """The instance pages, written by this process and by one forked child per extra core.

    A context manager: leaving it stops any child still at work (where the report failed
    meanwhile) and lets the collector walk what the store read again.

    Example:
        >>> with PageShares(ctx, store, instances, results) as pages:  # doctest: +SKIP
        ...     pages.write()  # runs of pages until none is left, then any a child did not write
    """

    def __init__(
        self,
        ctx: PageContext,
        store: RunStore,
        instances: list[Instance],
        results: Mapping[str, Mapping[str, Result]],
        *,
        cores: int | None = None,
        held: bool = False,
    ) -> None:
        """Fork the children now: before any thread of the report's is started.

        `cores` (default: the cores this process may use) is how many processes write pages,
        from `FORK_FROM` instances on. `held`: the children hold the pages they make until
        `open` is called (the report may not write yet). What the store read is frozen
        (`gc.freeze`) until the end: it lives until the pages are written, and the collector,
        which walked all of it again and again while the pages made their short-lived objects,
        leaves it alone (a child then also copies less of it).
        """
        self.ctx, self.store, self.instances, self.results = ctx, store, instances, results
        n = len(instances)
        workers = (cores if cores is not None else _usable_cores()) if n >= FORK_FROM else 1
        self.children: list[BaseProcess] = []
        self.opened: Any = None
        gc.freeze()
        if workers < 2 or not fork_is_safe():
            self.runs = _Runs([range(n)], Turns(1, shared=False), [0])
            return
        shared = multiprocessing.get_context("fork")
        # At least about four runs a process, so that they end together.
        size = min(RUN, max(PAGE_BATCH, n // (4 * workers)))
        spans = [range(k, min(k + size, n)) for k in range(0, n, size)]
        self.runs = _Runs(spans, Turns(len(spans)), shared.Array("b", len(spans), lock=False))
        self.opened = shared.Event()
        if not held:
            self.opened.set()
        for _ in range(workers - 1):
            most = HOLD_BYTES // (workers - 1)
            args = (
                ctx,
                store.run_dir,
                instances,
                results,
                self.runs,
                self.opened,
                os.getpid(),
                most,
            )
            child = start_forked(_child, args, "composer-report-pages")
            if child is not None:
                self.children.append(child)

    def open(self) -> None:
        """Let the children write: the pages they held, then the rest as they make them."""
        if self.opened is not None:
            self.opened.set()

    def __enter__(self) -> PageShares:
        return self

    def __exit__(self, *exc: object) -> None:
        for child in self.children:
            if child.exitcode is None:  # the report failed before waiting for it
                child.terminate()
                child.join()
        gc.unfreeze()

    def write(self) -> None:
        """Write runs of pages until none is left, then any a child took and did not finish.

        The children are waited for first: a run is written again only once no child is at it.
        """
        pages = PageWriter(self.ctx, self.store, self.instances, self.results)
        _write_runs(pages, self.runs)
        for child in self.children:
            child.join()
        for k, span in enumerate(self.runs.runs):
            if not self.runs.done[k]:
                pages.write(span)
                self.runs.done[k] = 1


def _usable_cores() -> int:
    """The cores this process may run on (its affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
