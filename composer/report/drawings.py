"""The slow, independent parts of the HTML report: thumbnails and charts.

Each costs seconds on a large run (decoding thousands of PNGs; importing langgraph and
matplotlib). `executor` runs them beside the page writing when the report is large, or inline
for a small one. This module imports nothing heavy at load.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

THUMB = 64
"""Edge of the square box thumbnails are fitted into, in pixels."""

T = TypeVar("T")


def make_thumb(source: Path, target: Path) -> bool:
    """Write a JPEG thumbnail of `source` fitted into THUMB x THUMB; False if unreadable."""
    from PIL import Image

    if target.exists() and target.stat().st_size > 0:
        return True
    try:
        with Image.open(source) as opened:
            if opened.size[0] * opened.size[1] > (Image.MAX_IMAGE_PIXELS or 2**62):
                return False  # a decompression bomb in a shared run folder: no thumbnail
            opened.draft("RGB", (THUMB, THUMB))  # JPEG sources decode at reduced size
            opened.load()
            image: Image.Image = opened
            # reduce() is an integer box filter in C: nearly free next to the decode.
            factor = max(1, max(image.size) // THUMB)
            if factor > 1:
                image = image.reduce(factor)
            image.thumbnail((THUMB, THUMB))
            if image.mode in ("RGBA", "LA", "P", "PA"):
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, (255, 255, 255))
                image.paste(rgba, mask=rgba.getchannel("A"))
            elif image.mode != "RGB":
                image = image.convert("RGB")
            # Encoded in memory, then one small write straight to its name: Pillow's save to a
            # path cost twice the encoding, and a rename per thumbnail doubles the file system
            # work of a large report (a reused thumbnail is checked to be non-empty).
            encoded = io.BytesIO()
            image.save(encoded, format="JPEG", quality=85)
            target.write_bytes(encoded.getvalue())
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
