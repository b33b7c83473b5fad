"""The slow, independent parts of the HTML report: thumbnails and charts.

Each costs seconds on a large run (decoding thousands of PNGs; importing langgraph and
matplotlib). `executor` runs them beside the page writing when the report is large, or inline
for a small one. This module imports nothing heavy at load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from composer.core.thumbnails import place_thumbs, thumbnail_of

T = TypeVar("T")


def make_thumb(source: Path, target: Path) -> bool:
    """Write a JPEG thumbnail of `source` (`thumbnail_of`) to `target`; False if unreadable.

    The bytes are those the run makes when it stores an image (`thumbnail_of`), so a report
    mixes the run's thumbnails and its own alike.
    """
    from PIL import Image

    if target.exists() and target.stat().st_size > 0:
        return True
    try:
        data = thumbnail_of(source)
        if data is None:
            return False  # a decompression bomb in a shared run folder: no thumbnail
        # Encoded in memory, then one small write straight to its name: Pillow's save to a
        # path cost twice the encoding, and a rename per thumbnail doubles the file system
        # work of a large report (a reused thumbnail is checked to be non-empty).
        target.write_bytes(data)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    return True


def make_thumbs(jobs: Sequence[tuple[Path, Path]]) -> list[bool]:
    """`make_thumb` over a batch of (source, target) pairs (one round trip to a worker)."""
    return [make_thumb(source, target) for source, target in jobs]


class ThumbProcesses:
    """Thumbnail batches made by `python -m composer.report.drawings` child processes.

    Decoding thousands of PNGs is CPU-bound and Pillow holds the GIL for much of it, so threads
    barely help. Child processes started by module name (not `multiprocessing` spawn, which
    re-imports the caller's main script) use the other cores while the caller writes pages.
    """

    def __init__(self, batches: Sequence[Sequence[tuple[Path, Path]]], folder: Path) -> None:
        """Start one child process per batch; job files go into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        self.batches = batches
        self.children: list[tuple[subprocess.Popen[bytes], Path]] = []
        for k, batch in enumerate(batches):
            jobs = folder / f"thumbs-{os.getpid()}-{k}.json"
            jobs.write_text(json.dumps([[str(s), str(t)] for s, t in batch]), "utf-8")
            child = subprocess.Popen(
                [sys.executable, "-m", "composer.report.drawings", str(jobs)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.children.append((child, jobs))

    def results(self) -> list[bool]:
        """Wait for every child; a batch whose child failed is made here instead."""
        made: list[bool] = []
        for (child, jobs), batch in zip(self.children, self.batches, strict=True):
            code = child.wait()
            answer = jobs.with_suffix(".out")
            if code == 0 and answer.exists():
                made.extend(bool(ok) for ok in json.loads(answer.read_text("utf-8")))
            else:
                made.extend(make_thumbs(batch))
            jobs.unlink(missing_ok=True)
            answer.unlink(missing_ok=True)
        return made


class Thumbnails:
    """The report's thumbnails, placed and made beside the page writing.

    One already in the report's folder is kept; one the run made when it stored the image
    (`ImageStore.thumbnails`) is linked or copied in; only the rest are made from their stored
    images, in child processes when they are many (decoding is most of a thumbnail's cost).

    The run's are placed in the calling thread, before it writes pages: in pool threads, the
    GIL handed over around every link cost 4 s more system CPU at 10,000 x 6 (cold report 30.5
    s CPU against 23.0 to 27.2 inline, where 60,000 links take about 1 s).
    """

    def __init__(
        self,
        jobs: Sequence[tuple[str, str, str]],
        ready: Mapping[str, str],
        folder: Path,
        pool: Executor,
        *,
        processes_from: int,
    ) -> None:
        """Start on `jobs` (digest, stored image, file name), `ready` the run's by digest.

        The missing ones go to one child process per core from `processes_from` of them on, to
        `pool` otherwise; then the run's are placed here.
        """
        with os.scandir(folder) as entries:
            present = {e.name for e in entries if e.stat().st_size > 0}
        self.jobs, self.folder = jobs, folder
        self.done = {name for _, _, name in jobs if name in present}
        todo = [(sha, src, name) for sha, src, name in jobs if name not in present]
        placing = [(ready[sha], name) for sha, _, name in todo if sha in ready]
        self.placing = [(source, os.path.join(folder, name)) for source, name in placing]
        self.placing_names = [name for _, name in placing]
        self.sources = {name: src for sha, src, name in todo if sha in ready}
        self.pairs = [(Path(src), folder / name) for sha, src, name in todo if sha not in ready]
        cores = os.cpu_count() or 1
        self.children: ThumbProcesses | None = None
        self.made: list[Future[list[bool]]] = []
        if len(self.pairs) >= processes_from and cores > 1:
            # One child per core; this process writes the pages meanwhile.
            size = len(self.pairs) // cores + 1
            self.children = ThumbProcesses(
                [self.pairs[i : i + size] for i in range(0, len(self.pairs), size)], folder
            )
        else:
            batch = max(16, len(self.pairs) // (4 * cores) + 1)
            self.made = [
                pool.submit(make_thumbs, self.pairs[i : i + batch])
                for i in range(0, len(self.pairs), batch)
            ]
        self.placed = place_thumbs(self.placing)

    def shown(self) -> dict[str, str]:
        """Wait for the work; the report path (`thumbs/<name>`) of each thumbnail, by digest.

        A run thumbnail that could not be placed (gone meanwhile) is made from its image; an
        image that cannot be read has none.
        """
        # By name, not `Path(target).name`: a `Path` per thumbnail was a fifth of a second at
        # 10,000 x 6, before the pages.
        placed = list(zip(self.placing_names, self.placed, strict=True))
        lost = [
            (Path(self.sources[name]), Path(self.folder, name)) for name, ok in placed if not ok
        ]
        self.done.update(name for name, ok in placed if ok)
        if self.children is not None:
            made = self.children.results()
        else:
            made = [ok for future in self.made for ok in future.result()]
        self.done.update(dst.name for (_, dst), ok in zip(self.pairs, made, strict=True) if ok)
        self.done.update(
            dst.name for (_, dst), ok in zip(lost, make_thumbs(lost), strict=True) if ok
        )
        return {sha: f"thumbs/{name}" for sha, _, name in self.jobs if name in self.done}


def _thumbs_main(jobs_file: str) -> None:
    jobs = Path(jobs_file)
    pairs = [(Path(s), Path(t)) for s, t in json.loads(jobs.read_text("utf-8"))]
    jobs.with_suffix(".out").write_text(json.dumps(make_thumbs(pairs)), "utf-8")


def graph_key(graph: str, axis: str, options: Mapping[str, Any] | None) -> str:
    """The identity of a drawn graph: its name, axis and options."""
    return json.dumps([graph, axis, dict(options or {})], sort_keys=True)


def outcome_of(future: Future[T], fn: Callable[..., T], *args: Any) -> T:
    """The future's result; if a worker process pool broke, `fn(*args)` run here instead."""
    try:
        return future.result()
    except BrokenProcessPool:
        return fn(*args)


class _Inline(Executor):
    """An executor that runs each job at once, in the calling thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed back through the future
            future.set_exception(exc)
        return future


def executor(parallel: bool) -> Executor:
    """A thread pool (one thread per core, at most 8) when `parallel`, else inline.

    Threads, not processes: a spawned worker re-imports the caller's main module, which runs
    any unguarded script (or a notebook cell) again. Pillow's decoders release the GIL for
    part of their work, so threads still overlap thumbnails with page writing.
    """
    workers = min(8, os.cpu_count() or 1)
    if not parallel or workers < 2:
        return _Inline()
    return ThreadPoolExecutor(workers)


if __name__ == "__main__":
    _thumbs_main(sys.argv[1])
