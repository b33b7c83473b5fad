"""The run store: one SQLite file (WAL) per run directory, written as results arrive.

Tables: `runs` (config, versions, seed per invocation), `systems` (each system's definition,
so a resumed run cannot silently change one), `instances`, `results` (one row per system and
instance), `calls` (the model-call cache and trace) and `judgments` (every judge question and
raw reply).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from composer.core.errors import ConfigError, StoreWriteError
from composer.core.instance import Instance

Status = Literal["ok", "failed", "refused", "unscored"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL, config TEXT, versions TEXT, seed INTEGER
);
CREATE TABLE IF NOT EXISTS systems (name TEXT PRIMARY KEY, definition TEXT);
CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, axis TEXT, category TEXT, record TEXT);
CREATE TABLE IF NOT EXISTS results (
    system TEXT, instance TEXT, axis TEXT, category TEXT, status TEXT, output TEXT,
    correct_official INTEGER, correct_strict INTEGER, error TEXT, latency_s REAL,
    cost_usd REAL, judge TEXT, updated REAL, PRIMARY KEY (system, instance)
);
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY, model TEXT, method TEXT, request TEXT, reply TEXT, usage TEXT,
    latency_s REAL, cost_usd REAL, system TEXT, instance TEXT, node TEXT, sent INTEGER,
    created REAL, attempts INTEGER
);
CREATE TABLE IF NOT EXISTS judgments (
    system TEXT, instance TEXT, position INTEGER, question TEXT, expected TEXT, reply TEXT,
    official TEXT, strict TEXT, judge TEXT, prompt_version TEXT,
    PRIMARY KEY (system, instance, position)
);
"""


PROMPT_VERSION = "realunify-v1"
"""The judge prompt's version, stored with every judgment."""

_PUT_CALL = (
    "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET sent = sent + 1, reply = excluded.reply"
)


class Result(BaseModel):
    """The outcome of one system on one instance."""

    system: str
    instance: str
    axis: str
    category: str
    status: Status
    output: dict[str, Any] = {}
    correct_official: bool | None = None
    correct_strict: bool | None = None
    error: str | None = None
    latency_s: float = 0.0
    cost_usd: float | None = None
    judge: str | None = None


class Judgment(BaseModel):
    """One judge question put about one output, with the raw reply and both readings."""

    position: int
    question: str
    expected: str
    reply: str
    official: str | None
    strict: str | None


def _content(record: str) -> dict[str, Any]:
    """An instance record without where it was loaded from (a moved dataset is the same)."""
    data = dict(json.loads(record))
    data.pop("source", None)
    return data


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


class RunStore:
    """The SQLite store of one run directory.

    A result is committed before its writer goes on; a call row joins the next commit without
    waiting, ahead of any result written after it, so a stored result never lacks its calls.
    """

    def __init__(self, run_dir: Path | str) -> None:
        """Open (or create) `run_dir/run.db`."""
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / "run.db"
        self.db = self._connect()
        self.db.executescript(SCHEMA)
        self._pending: list[tuple[str, Sequence[Any]]] = []
        self._committed: asyncio.Future[None] | None = None
        self._failed: BaseException | None = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=10000")
        return db

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    async def _commit_soon(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        # Group commit: writes queued in the same event-loop turn share one transaction, and
        # each writer resumes only once its rows are committed, so nothing is reported done
        # before it is on disk. (A writer thread was tried: SQLite releases the GIL for every
        # row, and getting it back from a busy event loop made commits slower, not faster.)
        await asyncio.shield(self._queue(statements))

    async def flush(self) -> None:
        """Wait until every queued row is committed."""
        if self._committed is not None:
            await asyncio.shield(self._committed)

    def _queue(self, statements: list[tuple[str, Sequence[Any]]]) -> asyncio.Future[None]:
        """Queue rows for the next transaction; they commit in the order they were queued."""
        if self._failed is not None:
            raise self._failed
        self._pending.extend(statements)
        if self._committed is None:
            loop = asyncio.get_running_loop()
            self._committed = loop.create_future()
            loop.call_soon(self._commit_pending)
        return self._committed

    def _commit_pending(self) -> None:
        pending, committed = self._pending, self._committed
        self._pending, self._committed = [], None
        assert committed is not None
        try:
            with self._transaction():
                # Runs of the same statement go in one executemany.
                for statement, group in itertools.groupby(pending, key=lambda s: s[0]):
                    self.db.executemany(statement, [params for _, params in group])
        except BaseException as exc:
            # Handed to every waiting writer, whatever it is: a waiter left unwoken hangs the
            # run. Every later write fails too, so rows queued without waiting (calls) cannot
            # be lost silently: the next result write reports the error.
            self._failed = exc
            committed.set_exception(exc)
            committed.exception()  # retrieved here; each waiter re-raises it
            if not isinstance(exc, Exception):
                raise
        else:
            committed.set_result(None)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT; on a failure, roll back, and raise a SQLite error as StoreWriteError.

        SQLite may have rolled back already (it does on a full disk), and a second ROLLBACK
        would fail with "no transaction is active" in place of the cause.
        """
        try:
            self.db.execute("BEGIN")
            yield
            self.db.execute("COMMIT")
        except BaseException as exc:
            if self.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._write_error(exc) from exc
            raise

    def _write_error(self, exc: sqlite3.Error) -> StoreWriteError:
        return StoreWriteError(
            f"run store {self.path}",
            f"could not be written ({exc}); nothing of the failed write was kept, and "
            "everything committed before it is intact.",
            "Free disk space (or make the folder writable), then rerun the same command to "
            "resume where it stopped.",
        )

    # runs and systems

    def record_run(self, config: dict[str, Any], versions: dict[str, Any], seed: int) -> None:
        """Append one invocation's configuration and library versions."""
        self.db.execute(
            "INSERT INTO runs (started, config, versions, seed) VALUES (?, ?, ?, ?)",
            (time.time(), json.dumps(config), json.dumps(versions), seed),
        )

    def latest_run(self) -> dict[str, Any] | None:
        """The last recorded invocation's config and versions, or None."""
        row = self.db.execute(
            "SELECT config, versions, seed FROM runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return {"config": json.loads(row[0]), "versions": json.loads(row[1]), "seed": row[2]}

    def check_systems(self, definitions: dict[str, dict[str, Any]]) -> None:
        """Store new system definitions; a changed one is a configuration error."""
        for name, definition in definitions.items():
            text = json.dumps(definition, sort_keys=True)
            row = self.db.execute(
                "SELECT definition FROM systems WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                self.db.execute("INSERT INTO systems VALUES (?, ?)", (name, text))
            elif row[0] != text:
                raise ConfigError(
                    f"system {name!r}",
                    f"differs from the one already run in {self.run_dir} "
                    f"(stored: {row[0]}; now: {text}).",
                    "Rename the system, or run into a new --out folder.",
                )

    def system_definitions(self) -> dict[str, dict[str, Any]]:
        """Every system definition this run has seen."""
        rows = self.db.execute("SELECT name, definition FROM systems").fetchall()
        return {name: json.loads(text) for name, text in rows}

    # instances

    def put_instances(self, instances: list[Instance]) -> None:
        """Record the instances of the run; an id already stored with other content is an error.

        Raises:
            ConfigError: the benchmark changed under this run directory, so finished results
                would be attributed to instances they were not computed on.
        """
        stored = dict(self.db.execute("SELECT id, record FROM instances").fetchall())
        for instance in instances:
            before = stored.get(instance.id)
            if before is not None and _content(before) != _content(instance.model_dump_json()):
                raise ConfigError(
                    f"instance {instance.id!r}",
                    f"differs from the one this run directory ({self.run_dir}) was run on: "
                    "the benchmark changed.",
                    "Run into a new --out folder.",
                )
        with self._transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?)",
                [(i.id, i.axis.value, i.category, i.model_dump_json()) for i in instances],
            )

    def instances(self) -> dict[str, Instance]:
        """The recorded instances by id."""
        rows = self.db.execute("SELECT record FROM instances").fetchall()
        return {i.id: i for i in (Instance.model_validate_json(r[0]) for r in rows)}

    # results

    def put_result(self, result: Result, judgments: Sequence[Judgment] = ()) -> None:
        """Write one result and its judgments in one transaction."""
        with self._transaction():
            for statement, params in self._result_statements(result, judgments):
                self.db.execute(statement, params)

    async def aput_result(self, result: Result, judgments: Sequence[Judgment] = ()) -> None:
        """`put_result`, committed together with the other writes of this event-loop turn."""
        await self._commit_soon(self._result_statements(result, judgments))

    @staticmethod
    def _result_statements(
        result: Result, judgments: Sequence[Judgment]
    ) -> list[tuple[str, Sequence[Any]]]:
        row = (
            result.system,
            result.instance,
            result.axis,
            result.category,
            result.status,
            json.dumps(result.output),
            result.correct_official,
            result.correct_strict,
            result.error,
            result.latency_s,
            result.cost_usd,
            result.judge,
            time.time(),
        )
        statements: list[tuple[str, Sequence[Any]]] = [
            ("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row),
            (
                "DELETE FROM judgments WHERE system = ? AND instance = ?",
                (result.system, result.instance),
            ),
        ]
        for j in judgments:
            statements.append(
                (
                    "INSERT INTO judgments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        result.system,
                        result.instance,
                        j.position,
                        j.question,
                        j.expected,
                        j.reply,
                        j.official,
                        j.strict,
                        result.judge,
                        PROMPT_VERSION,
                    ),
                )
            )
        return statements

    def results(self, system: str | None = None) -> Iterator[Result]:
        """Every stored result (of one system, if named), in insertion order."""
        query = (
            "SELECT * FROM results" + (" WHERE system = ?" if system else "") + " ORDER BY rowid"
        )
        for row in self.db.execute(query, (system,) if system else ()):
            yield Result(
                system=row[0],
                instance=row[1],
                axis=row[2],
                category=row[3],
                status=row[4],
                output=json.loads(row[5]),
                correct_official=_bool(row[6]),
                correct_strict=_bool(row[7]),
                error=row[8],
                latency_s=row[9],
                cost_usd=row[10],
                judge=row[11],
            )

    def finished(self, *, retry_failed: bool = False) -> set[tuple[str, str]]:
        """(system, instance) pairs that need no rerun (with `retry_failed`, failures do)."""
        where = " WHERE status != 'failed'" if retry_failed else ""
        rows = self.db.execute("SELECT system, instance FROM results" + where)
        return {(s, i) for s, i in rows}

    def all_judgments(self) -> dict[tuple[str, str], list[Judgment]]:
        """Every judgment, by (system, instance), in one query (for reports)."""
        found: dict[tuple[str, str], list[Judgment]] = {}
        rows = self.db.execute(
            "SELECT system, instance, position, question, expected, reply, official, strict "
            "FROM judgments ORDER BY system, instance, position"
        )
        for r in rows:
            found.setdefault((r[0], r[1]), []).append(
                Judgment(
                    position=r[2],
                    question=r[3],
                    expected=r[4],
                    reply=r[5],
                    official=r[6],
                    strict=r[7],
                )
            )
        return found

    def judgments(self, system: str, instance: str) -> list[Judgment]:
        """The judge questions and replies of one result."""
        rows = self.db.execute(
            "SELECT position, question, expected, reply, official, strict FROM judgments "
            "WHERE system = ? AND instance = ? ORDER BY position",
            (system, instance),
        )
        return [
            Judgment(
                position=r[0], question=r[1], expected=r[2], reply=r[3], official=r[4], strict=r[5]
            )
            for r in rows
        ]

    # calls

    def get_call(self, key: str) -> dict[str, Any] | None:
        """The cached reply of a call, or None."""
        row = self.db.execute("SELECT reply FROM calls WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def queue_call(
        self,
        key: str,
        *,
        model: str,
        method: str,
        request: dict[str, Any],
        reply: dict[str, Any],
        usage: dict[str, Any],
        latency_s: float,
        cost_usd: float | None,
        site: tuple[str, str, str],
        attempts: int = 1,
    ) -> asyncio.Future[None]:
        """Record a call that was sent, in the next commit; the future is done once it is.

        `sent` counts how often the same key was sent; `attempts` is how many tries it took
        (more than one after retried faults). A result queued after this call commits in the
        same transaction or a later one, so a stored result never lacks the calls behind it.
        """
        row = (
            key,
            model,
            method,
            json.dumps(request),
            json.dumps(reply),
            json.dumps(usage),
            latency_s,
            cost_usd,
            *site,
            time.time(),
            attempts,
        )
        return self._queue([(_PUT_CALL, row)])

    async def put_call(self, key: str, **fields: Any) -> None:
        """`queue_call`, waiting until the row is committed."""
        await asyncio.shield(self.queue_call(key, **fields))

    def call_keys(self) -> set[str]:
        """The keys of every recorded call."""
        return {row[0] for row in self.db.execute("SELECT key FROM calls")}

    def call_rows(self) -> list[dict[str, Any]]:
        """Every recorded call (for reports and tests)."""
        cursor = self.db.execute(
            "SELECT key, model, method, system, instance, node, sent, latency_s, cost_usd, "
            "attempts FROM calls"
        )
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]
