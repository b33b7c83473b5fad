"""A damaged run folder, found before anything reads or writes it: what is damaged, and the fix.

A run folder from elsewhere may hold a `run.db` cut short or overwritten, a row whose JSON is
malformed or whose status composer does not know, or an `images/` that is a file or a link out
of the folder. Every command (`run`, `report`, `compare`, `export`) stops on these with one
`DamagedRunError` (exit 2) naming the damage and what the user can do, before it writes
anything into the folder.

`check_folder` checks the folder and the file (SQLite's `quick_check`, a few milliseconds per
megabyte); `reading_row` turns a row that does not decode into the same error, naming the row.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson

from composer.core.errors import DamagedRunError

SQLITE_HEADER = b"SQLite format 3\x00"

READ_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RecursionError)
"""What a row that does not read raises (see `reading_row`)."""

T = TypeVar("T")


def damaged(path: Path, what: str, *, row: str | None = None) -> DamagedRunError:
    """The error for a damaged run store: what is damaged, that nothing changed, the fix.

    `row` names one damaged row, which the user may delete so that the next `composer run`
    does that task again; without it the whole file is damaged.
    """
    where = f"run store {path}"
    if row is not None:
        return DamagedRunError(
            where,
            f"is damaged: {row} {what}.",
            "Nothing was changed. Restore run.db from a backup, or delete that row (sqlite3 "
            'run.db "DELETE FROM ...") and run again to redo its task, or run into a new --out '
            "folder.",
        )
    return DamagedRunError(
        where,
        f"is damaged ({what}).",
        "Nothing was changed. Restore run.db from a backup, or salvage what is left with "
        f"`sqlite3 {path} .recover > recovered.sql`, or run into a new --out folder.",
    )


@contextlib.contextmanager
def reading_row(path: Path, row: str) -> Iterator[None]:
    """Decode one stored row in this block; a value that does not decode names the row.

    Pydantic's ValidationError and JSON's errors are ValueErrors; a JSON object where a list
    is expected (or the reverse) surfaces as a TypeError, KeyError or AttributeError.
    """
    try:
        yield
    except READ_ERRORS as exc:
        text = str(exc).strip()
        detail = text.splitlines()[0][:160] if text else type(exc).__name__
        raise damaged(path, f"does not read ({detail})", row=row) from None


def checked(path: Path, row: Callable[[], str], read: Callable[[], T]) -> T:
    """`read()`; where it raises, the `DamagedRunError` of `reading_row` naming `row()`.

    `reading_row` entered only for a row that failed (it is read again inside): a context
    manager and a row's name built for every row were a sixth of reading 60,000 results.
    """
    try:
        return read()
    except READ_ERRORS:
        with reading_row(path, row()):
            read()
        raise


_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
"""A `bytes.translate` table: every digit a 0, every other byte a space."""

_RUN = b"0" * 19


def _long_integer(data: bytes) -> bool:
    """Whether `data` (JSON) may hold an integer of 19 digits or more (orjson's differs).

    Past 64 bits orjson reads an integer as a float, `json` as an integer. Found: 19 digits in
    a row that follow no digit, decimal point, letter or `sha256:`. A fraction's digits follow
    the point and an exponent's an `e` (orjson reads both as `json` does, or refuses them); a
    run in an image reference (`sha256:` and a hex digest) follows a letter, a digit or the
    prefix. A digit run in a string may answer yes: that text is then read by `json`.

    Each run is found by `bytes.find` in the digits' translation, not by a regular expression:
    most batches of texts (`json_objects`) hold an image reference that starts with 19 digits,
    and a scan of the whole batch cost more than reading it as one saved.
    """
    digits = data.translate(_DIGITS)
    start = digits.find(_RUN)
    while start != -1:
        before = data[start - 1 : start]
        if not (
            before.isalnum() or before == b"." or data[max(0, start - 7) : start] == b"sha256:"
        ):
            return True
        end = digits.find(b" ", start)
        if end == -1:
            return False
        start = digits.find(_RUN, end)
    return False


def _loads(text: str | bytes) -> Any:
    """`json.loads(text)`, by orjson where it reads the text as `json` does.

    orjson decodes a large run's results and calls 2.5 times as fast. It reads UTF-8 text
    alike, except an integer of 19 digits or more (past 64 bits orjson makes it a float), which
    a cheap scan finds (`_long_integer`; a price's fraction, 0.0017661551995745719, is read
    alike by both, correctly rounded: such prices sent a fifth of a large run's usage texts to
    `json` before the scan looked at what precedes a run). What orjson refuses (NaN, Infinity,
    a lone surrogate, bad JSON) goes to `json`, which reads it or raises as before.
    """
    if type(text) is str:
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate
            return json.loads(text)
        if not _long_integer(data):
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError:
                pass
    return json.loads(text)


def json_object(text: Any) -> dict[str, Any]:
    """A stored JSON object (a TypeError for anything else, a ValueError for bad JSON)."""
    if not isinstance(text, str | bytes):
        raise TypeError(f"{type(text).__name__} where JSON text belongs")
    value = _loads(text)
    if not isinstance(value, dict):
        raise TypeError(f"JSON {type(value).__name__} where an object belongs")
    return value


def json_objects(texts: list[Any]) -> list[dict[str, Any]] | None:
    """Stored JSON objects decoded together, each as `json_object` decodes it, or None.

    None where one of them may not read alike that way: the caller then decodes each, which
    names the row that does not read. orjson is mapped over the texts and the checks of
    `_loads` are made once for them all, where the checks and the calls per text were most of
    what decoding a large report's calls cost. Each text is read on its own (as one JSON array
    of them all, two malformed texts could read as one value and a third as two). A text the
    fast path of `_loads` would not take (not text, a lone surrogate, a long integer, what
    orjson refuses) sends the whole batch back.
    """
    if not all(type(t) is str for t in texts):
        return None
    try:
        joined = ",".join(texts).encode()  # the texts apart: no digit run spans two
    except UnicodeEncodeError:  # a lone surrogate
        return None
    if _long_integer(joined):
        return None
    try:
        values = list(map(orjson.loads, texts))
    except orjson.JSONDecodeError:
        return None
    if not all(type(v) is dict for v in values):
        return None
    return values


def known(value: Any, allowed: frozenset[str], what: str = "status") -> str:
    """`value` if it is one of `allowed`, else a ValueError naming it."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; composer knows {', '.join(sorted(allowed))}")
    return str(value)


def row_name(table: str, system: Any, instance: Any, seed: Any, judge: Any = None) -> str:
    """How an error names a row of `results`, `scores` or `judgments`."""
    key = f"system {system!r}, instance {instance!r}, seed {seed!r}"
    if judge is not None:
        key += f", judge {judge!r}"
    return f"the {table} row ({key})"


def _leads_out(path: Path, run_dir: Path) -> Path | None:
    """Where the link `path` leads when that is outside `run_dir`, else None."""
    if not path.is_symlink():
        return None
    target = path.resolve()
    return None if target.is_relative_to(run_dir.resolve()) else target


def check_folder(run_dir: Path) -> None:
    """`run.db` and `images/` of `run_dir` are the folder's own: no file for a folder, no link out.

    Raises:
        DamagedRunError: naming what is wrong and what to do.
    """
    for name in ("run.db", "images"):
        target = _leads_out(run_dir / name, run_dir)
        if target is not None:
            raise DamagedRunError(
                f"run folder {run_dir}",
                f"has {name} as a link to {str(target)!r}, outside the folder; composer "
                "neither reads nor writes through a link that leads out of a run folder.",
                f"Nothing was changed. Replace the link with the {name} it points to, or run "
                "into a new --out folder.",
            )
    images = run_dir / "images"
    if os.path.lexists(images) and not images.is_dir():
        raise DamagedRunError(
            f"run folder {run_dir}",
            "is damaged: images/ is not a folder (a file, or a broken link), so the run's "
            "images are gone.",
            "Nothing was changed. Restore images/ from a backup, or run into a new --out folder.",
        )
    if images.is_dir():
        with os.scandir(images) as entries:
            links = [Path(e.path) for e in entries if e.is_symlink()]
        for link in links:
            target = _leads_out(link, run_dir)
            if target is not None:
                raise DamagedRunError(
                    f"run folder {run_dir}",
                    f"has images/{link.name} as a link to {str(target)!r}, outside the folder; "
                    "composer neither reads nor writes through a link that leads out of a run "
                    "folder.",
                    "Nothing was changed. Replace the link with the folder it points to, or run "
                    "into a new --out folder.",
                )
    database = run_dir / "run.db"
    if os.path.lexists(database) and not database.is_file():
        raise DamagedRunError(
            f"run folder {run_dir}",
            "is damaged: run.db is not a file (a folder, or a broken link).",
            "Nothing was changed. Restore run.db from a backup, or run into a new --out folder.",
        )


def check_store(path: Path) -> None:
    """`path` (an existing run.db) is a whole SQLite file: a header, and every page of it.

    An empty file is a store a killed run never wrote, unless the folder holds images: then it
    is a store cut short to nothing.

    Raises:
        DamagedRunError: the file is not a database, or is cut short.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(100)
        size = path.stat().st_size
    except OSError as exc:
        raise damaged(path, f"it cannot be read: {exc.strerror or exc}") from None
    if size == 0:
        if holds_images(path.parent):
            raise damaged(path, "it is empty, though images/ holds the images of earlier runs")
        return
    if not head.startswith(SQLITE_HEADER):
        raise damaged(path, "it is not a SQLite database: overwritten, or another file")
    if len(head) < 100:
        raise damaged(path, f"cut short: {size} bytes, less than a SQLite header")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    counter_valid = head[24:28] == head[92:96]
    if page_size and (size % page_size or (counter_valid and size < pages * page_size)):
        raise damaged(path, f"cut short: {size} bytes where its header says {pages * page_size}")


def holds_images(run_dir: Path) -> bool:
    """Whether `run_dir/images` holds anything: the images of a run that wrote a store."""
    images = run_dir / "images"
    return images.is_dir() and any(images.iterdir())


def quick_check(db: sqlite3.Connection, path: Path, *, pages: bool = True) -> None:
    """SQLite's own check of every page (`PRAGMA quick_check`), as a `DamagedRunError`.

    A store with no table beside a folder of images is damaged too (replaced by another,
    empty, database). `pages=False`: only that (the pages are checked beside, `PageCheck`).
    """
    try:
        found = [row[0] for row in db.execute("PRAGMA quick_check")] if pages else ["ok"]
        empty = db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None
    except sqlite3.DatabaseError as exc:
        raise damaged(path, str(exc)) from None
    if empty and holds_images(path.parent):
        raise damaged(path, "it holds no tables, though images/ holds earlier runs' images")
    if found != ["ok"]:
        text = " ".join(" ".join(str(f) for f in found[:3]).replace("*", "").split())
        raise damaged(path, f"SQLite finds damaged pages: {text[:200]}")


def read_connection(uri: str) -> sqlite3.Connection:
    """A connection to the store at `uri` (read-only, see `RunStore`), usable from any thread."""
    return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)


class PageCheck:
    """`quick_check` of a store through a connection of its own, in a thread.

    SQLite lets go of the GIL while it reads pages, so the check runs on a second core while
    this process reads the store's rows: at 10,000 x 6 it is 0.2 to 0.4 s of CPU (84,000 page
    reads) that the HTML report no longer spends before it can share out its pages. `wait`
    raises what it found; a reader waits before it writes anything or forks (no thread may
    run at a fork, `composer.core.fork`).
    """

    def __init__(self, uri: str, path: Path) -> None:
        """Start checking the store at `uri` (its file: `path`, which errors name)."""
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._check, args=(uri, path), name="composer-page-check", daemon=True
        )
        self.thread.start()

    def _check(self, uri: str, path: Path) -> None:
        try:
            db = read_connection(uri)
            try:
                quick_check(db, path)
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:  # the file could not even be opened
            self.error = database_error(path, exc) or exc
        except BaseException as exc:  # noqa: BLE001 - raised in the reader's thread by `wait`
            self.error = exc

    def wait(self) -> None:
        """Wait for the check; raise what it found (a `DamagedRunError`)."""
        self.thread.join()
        if self.error is not None:
            raise self.error


def database_error(path: Path, exc: sqlite3.DatabaseError) -> DamagedRunError | None:
    """A SQLite error that means the file is damaged, as a `DamagedRunError`; else None."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in str(exc):
        return damaged(path, str(exc))
    if "not a database" in str(exc):
        return damaged(path, str(exc))
    return None
