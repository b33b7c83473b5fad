"""The run store, read: one run folder's `run.db` opened for reading, and every read made of it.

`RunStore(run_dir)` is what `report`, `compare`, `trace`, `export` and the Python API open: it
creates nothing and writes nothing, and reads a folder on a read-only disk. A run writes
through `RunWriter` (`composer.evaluation.store_writer`), which reads through a `RunStore` over
its own connection (`RunWriter.reader`). The tables are in `composer.evaluation.store_schema`,
the row models in `composer.evaluation.store_views`, and the checks for a damaged folder in
`composer.evaluation.store_checks`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from composer.benchmarks.realunify.records import read_stored
from composer.core.decisions import RunDecisions
from composer.core.definition import SystemDefinition
from composer.core.instance import Instance, Parser
from composer.evaluation.headline import headline_scorer, polling_judges
from composer.evaluation.lock import is_written
from composer.evaluation.store_checks import (
    PageCheck,
    check_folder,
    check_store,
    checked,
    database_error,
    json_object,
    json_objects,
    known,
    quick_check,
    read_connection,
    reading_row,
    row_name,
)
from composer.evaluation.store_schema import SCHEMA_VERSION, check_schema
from composer.evaluation.store_views import (
    CALL_COLUMNS,
    REMOVED_KEY,
    SCORE_STATUSES,
    STATUSES,
    Call,
    Judgment,
    Result,
    Scored,
    Status,
    decode_bool,
    decode_call,
    decode_failure,
    record_content,
)

__all__ = ["SCHEMA_VERSION", "Call", "Judgment", "Result", "RunStore", "Scored", "Status"]


_NOT_NUMBERS = (
    "SELECT key FROM calls WHERE typeof(latency_s) NOT IN ('integer', 'real', 'null') "
    "OR typeof(cost_usd) NOT IN ('integer', 'real', 'null') "
    "OR typeof(sent) NOT IN ('integer', 'null') OR typeof(attempts) NOT IN ('integer', 'null') "
    "LIMIT 1"
)
"""A calls row `each_call_row` would refuse, if there is one."""


class RunStore:
    """The reads of one run folder's store; it never writes.

    Example:
        >>> store = RunStore("runs/demo")  # doctest: +SKIP
        >>> [r.status for r in store.results()]  # doctest: +SKIP
        >>> store.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        run_dir: Path | str,
        *,
        connection: sqlite3.Connection | None = None,
        check_pages_beside: bool = False,
    ) -> None:
        """Open the existing `run_dir/run.db` for reading; nothing is created or written.

        A folder on a read-only disk (or without write permission) still reads. With
        `connection` (a `RunWriter`'s own, already checked) the store reads through it instead,
        and `close()` leaves it open. `check_pages_beside`: SQLite's check of every page runs
        in a thread while this one reads (see `PageCheck`), and `wait_for_page_check` raises
        what it found; the folder, the file's header and the schema are checked here still.

        Raises:
            ConfigError: the folder holds an empty run.db, or one of another composer version.
            DamagedRunError: the folder or its run.db is damaged.
        """
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "run.db"
        self._owns = connection is None
        self._page_check: PageCheck | None = None
        if connection is not None:
            self.db = connection
            return
        check_folder(self.run_dir)
        if self.path.is_file() and not is_written(self.run_dir):  # else a writer is at work
            check_store(self.path)
        try:
            uri = self._uri()
            self.db = self._connect(uri, pages=not check_pages_beside)
            if check_pages_beside:
                self._page_check = PageCheck(uri, self.path)
            check_schema(self.db, self.run_dir, self.path, create=False)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise database_error(self.path, exc) or exc from None
        except BaseException:
            self.close()
            raise

    @classmethod
    def reopened(cls, run_dir: Path | str) -> RunStore:
        """A connection of its own to a store the process that forked this one opened.

        For a forked child (an SQLite connection never crosses a fork): the parent checked the
        folder, the file, every page and the schema when it opened the store, so they are not
        checked again. `PRAGMA quick_check` reads every page: 0.2 to 0.4 s of a child's CPU on
        the 180 MB store of a 10,000 x 6 run, for pages the parent has just read whole.
        """
        store = cls.__new__(cls)
        store.run_dir = Path(run_dir)
        store.path = store.run_dir / "run.db"
        store._owns = True
        store._page_check = None
        try:
            store.db = read_connection(store._uri())
        except sqlite3.DatabaseError as exc:
            raise database_error(store.path, exc) or exc from None
        return store

    def _uri(self) -> str:
        # A read-only connection to a WAL database creates -wal and -shm files and cannot
        # remove them. Where no writer is at work (no writer lock, no -wal file: everything is
        # in the database file) or the folder cannot be written, `immutable` reads the file as
        # it is and creates nothing; beside a running writer, its -wal and -shm exist anyway.
        writable = os.access(self.run_dir, os.W_OK) and os.access(self.path, os.W_OK)
        settled = not self.path.with_name("run.db-wal").exists() and not is_written(self.run_dir)
        immutable = settled or not writable
        return f"{self.path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")

    def _connect(self, uri: str, *, pages: bool = True) -> sqlite3.Connection:
        """A connection to `uri`, the file checked (`quick_check`: its `pages` too, or not)."""
        db = read_connection(uri)
        try:
            quick_check(db, self.path, pages=pages)
        except BaseException:
            db.close()
            raise
        return db

    def wait_for_page_check(self) -> None:
        """Raise what the check of every page found, once it has ended (`check_pages_beside`).

        Returns at once for a store whose pages were checked when it opened, and after the
        first call.

        Raises:
            DamagedRunError: SQLite finds damaged pages.
        """
        check, self._page_check = self._page_check, None
        if check is not None:
            check.wait()

    def close(self) -> None:
        """Close the connection this store opened (a writer's own stays open).

        A check of the pages still running is waited for, and what it found is dropped.
        """
        check, self._page_check = self._page_check, None
        if check is not None:
            check.thread.join()
        if self._owns and hasattr(self, "db"):
            self.db.close()

    def latest_run(self) -> dict[str, Any] | None:
        """The last recorded invocation's config, versions, seeds, judge ids and record, or None.

        `seed` is the first run seed (the report's bootstrap seed), `seeds` all of them, and
        `record` the reproducibility record (see `composer.evaluation.provenance`).
        """
        row = self.db.execute(
            "SELECT config, versions, seed, judges, record FROM runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        with reading_row(self.path, "the latest runs row"):
            config = json_object(row[0])
            latest = {
                "config": config,
                "versions": json_object(row[1]),
                "seed": int(row[2]),
                "seeds": [int(s) for s in config.get("seeds") or [row[2]]],
                "judges": [str(j) for j in json.loads(row[3] or "[]")],
                "record": json_object(row[4] or "{}"),
            }
        return latest

    def decisions(self) -> RunDecisions:
        """The latest invocation's decisions (derived from its run file in older folders)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'decisions'").fetchone()
        if row is not None:
            with reading_row(self.path, "the meta row 'decisions'"):
                return RunDecisions.model_validate_json(row[0])
        latest = self.latest_run()
        if latest is None:
            return RunDecisions()
        return RunDecisions.from_config(latest["config"], tuple(latest["judges"]))

    def system_definitions(self) -> dict[str, SystemDefinition]:
        """Every system definition this run has seen."""
        found = {}
        for name, text in self.db.execute("SELECT name, definition FROM systems").fetchall():
            with reading_row(self.path, f"the systems row {name!r}"):
                found[name] = SystemDefinition.from_json(json_object(text))
        return found

    def system_drawings(self) -> dict[str, dict[str, str]]:
        """Per system, the Mermaid drawing of each axis's graph, stored when it was first run."""
        found = {}
        for name, text in self.db.execute("SELECT name, drawings FROM systems").fetchall():
            with reading_row(self.path, f"the systems row {name!r}"):
                found[name] = {str(k): str(v) for k, v in json_object(text or "{}").items()}
        return found

    def judges(self) -> dict[str, dict[str, Any]]:
        """Every judge that judged in this run folder: id to `{label, definition}`."""
        found = {}
        for i, label, d in self.db.execute(
            "SELECT id, label, definition FROM judges ORDER BY rowid"
        ):
            with reading_row(self.path, f"the judges row {i!r}"):
                found[i] = {"label": str(label), "definition": json_object(d)}
        return found

    def instances(self) -> dict[str, Instance]:
        """The recorded instances by id."""
        found = {}
        for key, record in self.db.execute("SELECT id, record FROM instances").fetchall():
            with reading_row(self.path, f"the instances row {key!r}"):
                instance = read_stored(json.loads(record))
            found[instance.id] = instance
        return found

    def instance_contents(self, ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """The stored records of these instances (those stored), as `record_content` reads them."""
        found = {}
        for key, record in self.db.execute("SELECT id, record FROM instances"):
            if key in ids:
                with reading_row(self.path, f"the instances row {key!r}"):
                    found[key] = record_content(record)
        return found

    def removed_instances(self) -> frozenset[str]:
        """Stored instances the benchmark no longer holds, as the latest whole run found them.

        Their results stay in the store; no report counts them (see `not_counted`).
        """
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (REMOVED_KEY,)).fetchone()
        if row is None:
            return frozenset()
        with reading_row(self.path, f"the meta row {REMOVED_KEY!r}"):
            return frozenset(str(i) for i in json.loads(row[0]))

    def not_counted(self) -> tuple[list[str], int]:
        """The removed instances that have stored results, and how many results they have."""
        removed = self.removed_instances()
        if not removed:
            return [], 0
        rows = [i for (i,) in self.db.execute("SELECT instance FROM results") if i in removed]
        return sorted(set(rows)), len(rows)

    def results(
        self,
        system: str | None = None,
        *,
        judge: str | None = None,
        parser: Parser = "official",
        geu_judge: str | None = None,
    ) -> Iterator[Result]:
        """Every stored result (of one system, if named), in insertion order, as scored.

        A UEG output is read with the scores of `judge` (a judge id; default: the headline
        judge of the latest run), a GEU output with those of `geu_judge` if it scored it; else
        each leads with the score `composer.evaluation.headline` picks (the letter reader's
        latest version, a benchmark's programmatic scorer, or its scorer judged with the
        headline judge's model). An output the judge has not scored is
        `unscored` with the reason; a judge that failed makes it `failed`, one that declined
        `refused`; a score the headline `parser` cannot read is `unscored`. Results of
        instances the benchmark no longer holds are left out (`removed_instances`).
        """
        latest = self.latest_run()
        order: list[str] = list(latest["judges"]) if latest else []
        if judge is None:
            judge = order[0] if order else None
        stored = self.judges()
        labels = {i: j["label"] for i, j in stored.items()}
        definitions = {i: j["definition"] for i, j in stored.items()}
        polling = polling_judges(self.decisions().judges, definitions)
        scores: dict[tuple[str, str, int], dict[str, tuple[Any, ...]]] = {}
        query = "SELECT system, instance, seed, judge, status, correct_official, correct_strict, "
        query += "error FROM scores" + (" WHERE system = ?" if system else "") + " ORDER BY updated"
        for row in self.db.execute(query, (system,) if system else ()):
            if row[4] not in SCORE_STATUSES:  # named only for a row that does not read
                with reading_row(self.path, row_name("scores", *row[:4])):
                    known(row[4], SCORE_STATUSES)
            scores.setdefault((row[0], row[1], row[2]), {})[row[3]] = row[4:]
        query = "SELECT * FROM results" + (" WHERE system = ?" if system else "")
        removed = self.removed_instances()
        cursor = self.db.execute(query + " ORDER BY rowid", (system,) if system else ())
        for row, decoded in _with_json(cursor):
            if row[1] in removed:
                continue
            fields = self._result_fields(row, decoded)
            if fields["status"] != "ok":
                yield self._validated(row, fields)
                continue
            mine = scores.get((row[0], row[1], row[2]), {})
            axis = fields["axis"]
            wanted = headline_scorer(
                axis,
                list(mine),
                asked=judge if axis == "UEG" else geu_judge,
                judge=judge,
                polling=polling,
                definitions=definitions,
                order=order,
            )
            if wanted is not None:
                fields["judge"] = labels.get(wanted) or "exact match (choice reader)"
            elif axis == "UEG":
                fields["judge"] = labels.get(judge or "", judge)
            else:
                fields["judge"] = "exact match (choice reader)"
            score = mine.get(wanted or "")
            if score is None:
                fields["status"] = "unscored"
                fields["error"] = f"not judged by {fields['judge'] or 'any judge'}"
            elif score[0] in ("failed", "refused"):  # a judge that declined: refused
                fields["status"], fields["error"] = score[0], score[3]
            else:
                official, strict = decode_bool(score[1]), decode_bool(score[2])
                fields["correct_official"], fields["correct_strict"] = official, strict
                headline = official if parser == "official" else strict
                fields["status"] = "unscored" if headline is None else "ok"
            yield self._validated(row, fields)

    def channels(self, system: str | None = None) -> dict[tuple[str, str, int], dict[str, Any]]:
        """Every stored score's named channels: (system, instance, seed) -> scorer -> channels."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(scores)")}
        if "channels" not in columns:  # a folder from before schema 5, read as it is
            return {}
        query = "SELECT system, instance, seed, judge, channels FROM scores WHERE status = 'ok'"
        query += " AND channels IS NOT NULL" + (" AND system = ?" if system else "")
        found: dict[tuple[str, str, int], dict[str, Any]] = {}
        for row in self.db.execute(query + " ORDER BY updated", (system,) if system else ()):
            with reading_row(self.path, row_name("scores", *row[:4])):
                found.setdefault((row[0], row[1], row[2]), {})[row[3]] = json_object(row[4])
        return found

    def _result(self, row: tuple[Any, ...]) -> Result:
        """One `results` row as stored (before its scores), or a `DamagedRunError` naming it."""
        return self._validated(row, self._result_fields(row))

    def _result_fields(self, row: tuple[Any, ...], decoded: Decoded = None) -> dict[str, Any]:
        """A `results` row's fields, decoded and checked, for one `Result` once scored.

        A `Result` is built once, from every field at hand: each attribute set on a built
        pydantic model is its own call (five a result, 1.7 s of reading 60,000). `decoded`:
        its output and usage, where `_with_json` decoded them.
        """
        return checked(
            self.path, lambda: row_name("results", *row[:3]), lambda: _fields(row, decoded)
        )

    def _validated(self, row: tuple[Any, ...], fields: dict[str, Any]) -> Result:
        """`fields` as a `Result`, or a `DamagedRunError` naming `row`."""
        return checked(self.path, lambda: row_name("results", *row[:3]), lambda: Result(**fields))

    def outputs(self) -> dict[tuple[str, str, int], dict[str, Any]]:
        """The output of every `ok` result by (system, instance, seed), as it was produced.

        Whatever its judges made of it: an output whose judge call failed is here too, so a
        resumed run judges it again without running its graph again.
        """
        rows = self.db.execute("SELECT * FROM results WHERE status = 'ok'")
        return {(row[0], row[1], row[2]): self._result(row).output for row in rows}

    def progress(
        self,
    ) -> tuple[dict[tuple[str, str, int], str], dict[tuple[str, str, int], dict[str, str]]]:
        """What is done, for planning a resumed run.

        The result status per (system, instance, seed), and per output its score statuses by
        judge.
        """
        results = {}
        for s, i, seed, st in self.db.execute("SELECT system, instance, seed, status FROM results"):
            with reading_row(self.path, row_name("results", s, i, seed)):
                results[(s, i, seed)] = known(st, STATUSES)
        scores: dict[tuple[str, str, int], dict[str, str]] = {}
        for s, i, seed, j, st in self.db.execute(
            "SELECT system, instance, seed, judge, status FROM scores"
        ):
            with reading_row(self.path, row_name("scores", s, i, seed, j)):
                scores.setdefault((s, i, seed), {})[j] = known(st, SCORE_STATUSES)
        return results, scores

    def finished(self, *, retry_failed: bool = False) -> set[tuple[str, str, int]]:
        """(system, instance, seed) whose output needs no rerun (`retry_failed`: failures do)."""
        where = " WHERE status != 'failed'" if retry_failed else ""
        rows = self.db.execute("SELECT system, instance, seed FROM results" + where)
        return {(s, i, seed) for s, i, seed in rows}

    def all_judgments(
        self, judge: str | None = None, *, seed: int | None = None
    ) -> dict[tuple[str, str], list[Judgment]]:
        """Every judgment of `judge` (default: the headline judge), by (system, instance).

        Of one run seed (default: the lowest seed each output has).
        """
        if judge is None:
            latest = self.latest_run()
            judge = latest["judges"][0] if latest and latest["judges"] else ""
        if seed is None:
            row = self.db.execute("SELECT MIN(seed) FROM judgments").fetchone()
            seed = row[0] if row and row[0] is not None else 0
        found: dict[tuple[str, str], list[Judgment]] = {}
        rows = self.db.execute(
            "SELECT system, instance, position, question, expected, reply, official, strict "
            "FROM judgments WHERE judge = ? AND seed = ? ORDER BY system, instance, position",
            (judge, seed),
        )
        removed = self.removed_instances()
        for r in rows:
            if r[1] in removed:
                continue
            with reading_row(self.path, f"the judgments row of {r[0]!r}, {r[1]!r}, {r[2]!r}"):
                judgment = Judgment(
                    position=r[2],
                    question=r[3],
                    expected=r[4],
                    reply=r[5],
                    official=r[6],
                    strict=r[7],
                )
            found.setdefault((r[0], r[1]), []).append(judgment)
        return found

    def judgment_rows(
        self,
    ) -> list[tuple[str, str, str, int, str, str | None, str | None, int]]:
        """(system, instance, judge, position, expected, official, strict, seed) per judgment."""
        removed = self.removed_instances()
        rows = self.db.execute(
            "SELECT system, instance, judge, position, expected, official, strict, seed "
            "FROM judgments"
        )
        return [row for row in rows if row[1] not in removed]

    def score_rows(self) -> list[tuple[str, str, str, str, bool | None, bool | None, int]]:
        """(system, instance, judge, status, official, strict, seed) of every stored score."""
        found = []
        removed = self.removed_instances()
        for s, i, j, st, o, t, seed in self.db.execute(
            "SELECT system, instance, judge, status, correct_official, correct_strict, seed "
            "FROM scores"
        ):
            if i in removed:
                continue
            with reading_row(self.path, row_name("scores", s, i, seed, j)):
                found.append(
                    (s, i, j, known(st, SCORE_STATUSES), decode_bool(o), decode_bool(t), seed)
                )
        return found

    def get_call(self, key: str) -> dict[str, Any] | None:
        """The cached reply of a call, or None.

        None also for a reply that no longer reads: the call is sent again, and the new reply
        replaces the damaged row.
        """
        row = self.db.execute("SELECT reply FROM calls WHERE key = ?", (key,)).fetchone()
        try:
            return None if row is None else json_object(row[0])
        except (ValueError, TypeError, RecursionError):
            return None

    def call_keys(self) -> set[str]:
        """The keys of every recorded call."""
        return {row[0] for row in self.db.execute("SELECT key FROM calls")}

    def reported_models(self) -> dict[str, dict[str, int]]:
        """Per model name, the exact model ids its replies reported, with how many calls each.

        A hosted API names the snapshot that answered (`gpt-4.1-2025-04-14`); a call whose
        reply reported none is left out.
        """
        found: dict[str, dict[str, int]] = {}
        rows = self.db.execute(
            "SELECT model, CASE WHEN json_valid(usage) THEN json_extract(usage, '$.model') END "
            "AS reported, COUNT(*) FROM calls "
            "WHERE reported IS NOT NULL GROUP BY model, reported ORDER BY model, reported"
        )
        for model, reported, count in rows:
            found.setdefault(model, {})[str(reported)] = int(count)
        return found

    def call_rows(self) -> list[dict[str, Any]]:
        """Every recorded call (for reports and tests)."""
        return list(self.each_call_row())

    def each_call_row(self) -> Iterator[dict[str, Any]]:
        """Every recorded call, read one at a time (a report's memory does not hold them all)."""
        cursor = self.db.execute(
            "SELECT key, model, method, system, instance, node, sent, latency_s, cost_usd, "
            "attempts FROM calls"
        )
        names = [c[0] for c in cursor.description]
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            with reading_row(self.path, f"the calls row {row['key']!r}"):
                for name in ("latency_s", "cost_usd"):
                    if row[name] is not None and not isinstance(row[name], int | float):
                        raise TypeError(f"{name} {row[name]!r} is not a number")
                for name in ("sent", "attempts"):
                    if row[name] is not None and not isinstance(row[name], int):
                        raise TypeError(f"{name} {row[name]!r} is not a whole number")
            yield row

    def check_calls(self) -> None:
        """Raise `DamagedRunError` naming the first calls row whose numbers are not numbers.

        SQLite finds whether any is (`typeof`); only then are the rows read one by one, so a
        sound folder of any size is checked at once.
        """
        if self.db.execute(_NOT_NUMBERS).fetchone() is not None:
            for _ in self.each_call_row():
                pass

    def retries_by_system(self) -> dict[str, int]:
        """Per system, the extra attempts (429s, 5xx, timeouts) of the calls it sent first."""
        self.check_calls()
        query = "SELECT system, SUM(MAX(0, COALESCE(NULLIF(attempts, 0), 1) - 1)) FROM calls"
        return {str(s): int(n) for s, n in self.db.execute(query + " GROUP BY system")}

    def calls_by_key(self, keys: Iterable[str]) -> dict[str, Call]:
        """The recorded calls with these cache keys (a key never recorded is left out)."""
        return {row[0]: self._call(row) for row in self.call_rows_by_key(keys, CALL_COLUMNS)}

    def call_rows_by_key(self, keys: Iterable[str], columns: str) -> Iterator[tuple[Any, ...]]:
        """The raw `columns` (the first being `key`) of the recorded calls with these keys.

        For a reader that decodes many rows itself (the HTML report's steps); a key never
        recorded is left out.
        """
        wanted = sorted(set(keys))
        for start in range(0, len(wanted), 500):  # under SQLite's limit on parameters
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            query = f"SELECT {columns} FROM calls WHERE key IN ({marks})"
            # Fetched a chunk at a time: a reader that stops at a damaged row leaves no cursor
            # open (`yield from` a cursor closes it when the generator is dropped, by then on
            # a closed database: an error Python can only print).
            yield from self.db.execute(query, chunk).fetchall()

    def _call(self, row: tuple[Any, ...]) -> Call:
        with reading_row(self.path, f"the calls row {row[0]!r}"):
            return decode_call(row)

    def calls_sent_for(self, system: str, instance: str) -> list[Call]:
        """The calls first sent for (system, instance), in the order they were recorded."""
        query = f"SELECT {CALL_COLUMNS} FROM calls WHERE system = ? AND instance = ?"
        query += " ORDER BY rowid"
        return [self._call(row) for row in self.db.execute(query, (system, instance))]

    def score_usages(self, system: str, instance: str, seed: int) -> dict[str, dict[str, Any]]:
        """Per judge id, the usage (and call steps) of its score of one output."""
        rows = self.db.execute(
            "SELECT judge, usage FROM scores WHERE system = ? AND instance = ? AND seed = ? "
            "ORDER BY rowid",
            (system, instance, seed),
        )
        found = {}
        for judge, usage in rows:
            with reading_row(self.path, row_name("scores", system, instance, seed, judge)):
                found[judge] = json_object(usage or "{}")
        return found


_AXES = frozenset({"UEG", "GEU"})


Decoded = tuple[dict[str, Any], dict[str, Any]] | None
"""A results row's output and usage, decoded (None: not yet)."""

ROWS_DECODED_TOGETHER = 1000
"""`results` rows whose JSON `_with_json` decodes together (`json_objects`)."""


def _with_json(cursor: sqlite3.Cursor) -> Iterator[tuple[tuple[Any, ...], Decoded]]:
    """Each `results` row (`SELECT *`) with its output and usage, decoded a chunk at a time.

    A chunk that does not decode together gives None for its rows: each is decoded with its
    other fields, and the first that does not read is named, as before (`_fields`).
    """
    while rows := cursor.fetchmany(ROWS_DECODED_TOGETHER):
        outputs = json_objects([r[6] for r in rows])
        usages = json_objects([r[9] or "{}" for r in rows]) if outputs is not None else None
        if outputs is None or usages is None:
            yield from ((row, None) for row in rows)
        else:
            yield from zip(rows, zip(outputs, usages, strict=True), strict=True)


def _fields(row: tuple[Any, ...], decoded: Decoded = None) -> dict[str, Any]:
    """A `results` row's fields, decoded and checked (a ValueError or TypeError if damaged).

    `decoded`: its output and usage, already decoded (as `json_object` decodes them).
    """
    output, usage = decoded if decoded is not None else (None, json_object(row[9] or "{}"))
    cost = usage.get("cost_usd")
    return {
        "system": row[0],
        "instance": row[1],
        "seed": row[2],
        "axis": known(row[3], _AXES, "axis"),
        "category": row[4],
        "status": known(row[5], STATUSES),
        "output": json_object(row[6]) if output is None else output,
        "error": row[7],
        "latency_s": row[8],
        "usage": usage,
        "failure": decode_failure(row),
        "cost_usd": None if cost is None else float(cost),
    }
