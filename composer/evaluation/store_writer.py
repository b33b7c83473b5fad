"""Writing a run store: the writer lock, the tables, and every write a run makes.

`RunWriter(run_dir)` opens (or creates) `run_dir/run.db`, takes the folder's writer lock when
asked, creates the tables of a new store and migrates an older one before its first write. A
result is committed in one transaction with its scores and judgments; call rows join the next
group commit. Its reads go through `reader`, a `RunStore` (`composer.evaluation.store`) over the
writer's own connection, so a run reads what it has written.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from composer.core.credentials import scrub_credentials
from composer.core.decisions import RunDecisions
from composer.core.definition import SystemDefinition
from composer.core.errors import StoreWriteError
from composer.core.instance import Instance
from composer.evaluation.json_text import text_encoder
from composer.evaluation.lock import RunLock, is_written
from composer.evaluation.store import RunStore
from composer.evaluation.store_checks import (
    check_folder,
    check_store,
    database_error,
    quick_check,
)
from composer.evaluation.store_schema import MIGRATIONS, check_schema
from composer.evaluation.store_views import REMOVED_KEY, Judgment, Result, Scored

__all__ = ["RunWriter"]


_ONE_OUTPUT = "system = ? AND instance = ? AND seed = ?"

_dumps = text_encoder()
"""`json.dumps`, its encoder built once: the text of every row a result or call writes."""

_PUT_CALL = (
    "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET sent = sent + 1, reply = excluded.reply"
)


class RunWriter:
    """The writer of one run directory's SQLite store.

    A result is committed before its writer goes on; a call row joins the next commit without
    waiting, ahead of any result written after it, so a stored result never lacks its calls.

    Example:
        >>> writer = RunWriter("runs/demo", lock=True)  # doctest: +SKIP
        >>> writer.put_result(result)  # doctest: +SKIP
        >>> writer.reader.results()  # doctest: +SKIP
        >>> writer.close()  # doctest: +SKIP
    """

    def __init__(self, run_dir: Path | str, *, lock: bool = False) -> None:
        """Open (or create) `run_dir/run.db`; with `lock`, first take the folder's writer lock.

        Raises:
            RunFolderBusyError: `lock` is set and another process writes the folder.
            DamagedRunError: the folder or its run.db is damaged (checked before anything is
                written, the lock included).
        """
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "run.db"
        check_folder(self.run_dir)
        existed = self.path.is_file() and self.path.stat().st_size > 0
        if self.path.is_file() and not is_written(self.run_dir):  # else a writer is at work
            check_store(self.path)
        self.lock = RunLock.acquire(self.run_dir) if lock else None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            try:
                self.db = self._connect(existed)
                self._outdated = check_schema(self.db, self.run_dir, self.path, create=True)
                """An older schema version this writer migrates before its first write."""
                self.reader = RunStore(self.run_dir, connection=self.db)
                if lock and existed:
                    self._check_calls()
            except sqlite3.DatabaseError as exc:
                raise database_error(self.path, exc) or exc from None
        except BaseException:
            self._release()
            raise
        self._pending: list[tuple[str, Sequence[Any]]] = []
        self._committed: asyncio.Future[None] | None = None
        self._failed: BaseException | None = None

    def _check_calls(self) -> None:
        """Read every calls row, as a run's closing report will, before the run writes.

        A damaged one stops a resuming run at once (`DamagedRunError`), not after its work.
        """
        try:
            self.reader.check_calls()
        except BaseException:
            self.db.close()
            raise

    def _connect(self, existed: bool = False) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if existed:  # before the first pragma that could write to it
            try:
                quick_check(db, self.path)
            except BaseException:
                db.close()
                raise
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=10000")
        return db

    def _up_to_date(self) -> None:
        """Before the first write to an older store, bring it up to `SCHEMA_VERSION`."""
        if self._outdated is not None:
            self._migrate(self._outdated)
            self._outdated = None

    def _migrate(self, found: str) -> str:
        """Bring an older store up to `SCHEMA_VERSION`, in one transaction; the new version."""
        with self._transaction():
            while found in MIGRATIONS:
                found, statements = MIGRATIONS[found]
                for statement in statements:
                    self.db.execute(statement)
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (found,))
        return found

    def close(self) -> None:
        """Close the connection, then free the writer lock if this store holds it."""
        try:
            self.db.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self.lock is not None:
            self.lock.release()

    def reconnect(self) -> None:
        """Close the connection (if open) and open a new one, which reads and writes from now on.

        A process forked from the writer must not use a connection opened before the fork:
        `composer.evaluation.split` closes the parent's before it forks (so that the child's
        SQLite holds no record of the parent's locks), and each process then opens its own.
        The schema is read again: a store the parent migrated meanwhile is not migrated twice.
        """
        self.db.close()
        self.db = self._connect()
        self._outdated = check_schema(self.db, self.run_dir, self.path, create=True)
        self.reader = RunStore(self.run_dir, connection=self.db)

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

    # runs, systems and judges

    def begin_run(
        self,
        *,
        config: dict[str, Any],
        versions: dict[str, Any],
        seed: int,
        systems: Mapping[str, tuple[SystemDefinition, dict[str, str]]],
        judges: Sequence[tuple[str, str, dict[str, Any]]],
        instances: Sequence[Instance],
        rerun: Sequence[str] = (),
        record: dict[str, Any] | None = None,
        decisions: RunDecisions | None = None,
    ) -> None:
        """Record one invocation in one transaction, after every check passed.

        `systems` maps a name to its definition and drawings; `judges` holds (id, label,
        definition) with the headline judge first. Systems in `rerun` lose their results,
        scores and judgments first (their calls stay in the cache).
        """
        self._up_to_date()
        with self._transaction():
            for name in rerun:
                for table in ("results", "scores", "judgments", "systems"):
                    column = "name" if table == "systems" else "system"
                    self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (name,))
            for name, (definition, drawings) in systems.items():
                self.db.execute(
                    "INSERT OR IGNORE INTO systems VALUES (?, ?, ?)",
                    (
                        name,
                        json.dumps(stored_form(definition), sort_keys=True),
                        json.dumps(drawings),
                    ),
                )
            self.db.executemany(
                "INSERT OR IGNORE INTO judges VALUES (?, ?, ?)",
                [
                    (i, label, json.dumps(scrub_credentials(d), sort_keys=True))
                    for i, label, d in judges
                ],
            )
            if decisions is not None:
                self.db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('decisions', ?)",
                    (json.dumps(scrub_credentials(decisions.model_dump(mode="json"))),),
                )
            self.db.execute(
                "INSERT INTO runs (started, config, versions, seed, judges, record) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    json.dumps(scrub_credentials(config)),
                    json.dumps(versions),
                    seed,
                    json.dumps([i for i, _, _ in judges]),
                    json.dumps(record or {}),
                ),
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?)",
                [(i.id, i.axis.value, i.category, i.model_dump_json()) for i in instances],
            )
            removed = self._removed(config.get("benchmark") or {}, instances)
            self.db.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (REMOVED_KEY, json.dumps(removed))
            )

    def _removed(self, benchmark: Mapping[str, Any], instances: Sequence[Instance]) -> list[str]:
        """Stored instances this run's benchmark no longer holds, so that no report counts them.

        A run of a selection (`limit` per category, `instances` patterns) proves nothing gone,
        and one of some categories only about those categories; an instance that comes back
        counts again.
        """
        current = {i.id for i in instances}
        removed = set(self.reader.removed_instances()) - current
        if benchmark.get("limit") is None and not benchmark.get("instances"):
            scope = {i.category for i in instances} if benchmark.get("categories") else None
            for key, category in self.db.execute("SELECT id, category FROM instances"):
                if key not in current and (scope is None or category in scope):
                    removed.add(key)
        return sorted(removed)

    # results, scores and judgments

    def put_result(
        self, result: Result | None, scores: Sequence[tuple[Scored, Sequence[Judgment]]] = ()
    ) -> None:
        """Write one result (None: scores only) and its scores in one transaction."""
        self._up_to_date()
        with self._transaction():
            for statement, params in self._result_statements(result, scores):
                self.db.execute(statement, params)

    async def aput_result(
        self,
        result: Result | None,
        scores: Sequence[tuple[Scored, Sequence[Judgment]]] = (),
        *,
        system: str = "",
        instance: str = "",
        seed: int = 0,
    ) -> None:
        """`put_result`, committed together with the other writes of this event-loop turn.

        With `result` None, `system`, `instance` and `seed` say whose output the scores belong
        to.
        """
        self._up_to_date()
        await self._commit_soon(
            self._result_statements(result, scores, system=system, instance=instance, seed=seed)
        )

    @staticmethod
    def _result_statements(
        result: Result | None,
        scores: Sequence[tuple[Scored, Sequence[Judgment]]],
        *,
        system: str = "",
        instance: str = "",
        seed: int = 0,
    ) -> list[tuple[str, Sequence[Any]]]:
        statements: list[tuple[str, Sequence[Any]]] = []
        if result is not None:
            system, instance, seed = result.system, result.instance, result.seed
            row = (
                result.system,
                result.instance,
                result.seed,
                result.axis,
                result.category,
                result.status,
                _dumps(result.output),
                result.error,
                result.latency_s,
                _dumps(result.usage),
                time.time(),
                None if result.failure is None else result.failure.model_dump_json(),
            )
            # A new output invalidates every score of the old one.
            statements += [
                ("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row),
                (f"DELETE FROM scores WHERE {_ONE_OUTPUT}", (system, instance, seed)),
                (f"DELETE FROM judgments WHERE {_ONE_OUTPUT}", (system, instance, seed)),
            ]
        for scored, judgments in scores:
            key = (system, instance, seed, scored.judge)
            statements += [
                (
                    "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        *key,
                        scored.status,
                        scored.correct_official,
                        scored.correct_strict,
                        scored.error,
                        _dumps(scored.usage),
                        time.time(),
                        _dumps(scored.channels) if scored.channels else None,
                    ),
                ),
                (f"DELETE FROM judgments WHERE {_ONE_OUTPUT} AND judge = ?", key),
            ]
            statements += [
                (
                    "INSERT INTO judgments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*key, j.position, j.question, j.expected, j.reply, j.official, j.strict),
                )
                for j in judgments
            ]
        return statements

    # calls

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
            _dumps(request),
            _dumps(reply),
            _dumps(usage),
            latency_s,
            cost_usd,
            *site,
            time.time(),
            attempts,
        )
        return self._queue([(_PUT_CALL, row)])

    def queue_set_aside(self, key: str, reason: str) -> asyncio.Future[None]:
        """Mark a cached reply unusable (an agent could not parse it), in the next commit.

        The row stays as a trace; the call layer sends the request again instead of replaying
        it, and the new reply replaces the row.
        """
        statement = "UPDATE calls SET reply = json_set(reply, '$.set_aside', ?) WHERE key = ?"
        return self._queue([(statement, (reason, key))])


def stored_form(definition: SystemDefinition) -> dict[str, Any]:
    """A definition as the store keeps it: without the credentials of a URL in its options."""
    return dict(scrub_credentials(definition.to_json()))
