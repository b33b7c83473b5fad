"""The run store's floor for `overhead.py`: the rows composer stores, written with sqlite3 alone.

What any durable harness must pay to keep what composer keeps per instance: the same rows of
the same four tables (results, calls, scores, judgments), the same schema, the same JSON text,
in the same transactions, with plain `sqlite3` and nothing else (no locks, no checks, no
DELETEs, no futures; each table's rows of a transaction in one `executemany`).

`record(runner)` runs composer once, untimed, with a recorder in front of its writer's
connection: every row of those tables it writes, and which transaction it went in. The JSON
columns are kept as the objects they encode (each checked to encode to the same text again),
so the timed `write_floor` encodes them as a harness would, then commits transaction by
transaction into a fresh store with composer's own pragmas (WAL, synchronous=NORMAL).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from composer.evaluation.runner import Runner
from composer.evaluation.store_schema import SCHEMA

JSON_COLUMNS = {
    "results": (6, 9),  # output, usage (failure is pydantic's JSON, kept as text)
    "scores": (8, 10),  # usage, channels
    "calls": (3, 4, 5),  # request, reply, usage
    "judgments": (),
}
"""Per table, the columns that hold JSON text: encoded again, timed, by the floor."""

STAMPS = {"results": 10, "scores": 9, "calls": 12}
"""Per table, the column of the time the row was written: taken again, timed, by the floor."""

Transaction = list[tuple[str, list[tuple[Any, ...]]]]
"""One transaction: (table, rows) in the order written, consecutive rows of a table together."""


def _table(statement: str) -> str | None:
    """The table a row-writing statement inserts into, None for anything else."""
    words = statement.split()
    if words[0] != "INSERT":
        return None
    table = words[words.index("INTO") + 1]
    return table if table in JSON_COLUMNS else None


def _row(table: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as the table holds it, its JSON columns decoded (and checked to round-trip)."""
    if table == "calls":  # composer's statement sets `sent` (column 11) to 1 in its text
        params = (*params[:11], 1, *params[11:])
    row = list(params)
    for column in JSON_COLUMNS[table]:
        if row[column] is not None:
            value = json.loads(row[column])
            assert json.dumps(value) == row[column], (table, column, row[column])
            row[column] = value
    return tuple(row)


class _Recorder:
    """In front of a writer's connection: every row it inserts, grouped by transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.transactions: list[Transaction] = []
        self._open: Transaction | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    def _note(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        table = _table(statement)
        if table is None or self._open is None or not rows:
            return
        rows = [_row(table, tuple(r)) for r in rows]
        if self._open and self._open[-1][0] == table:
            self._open[-1][1].extend(rows)
        else:
            self._open.append((table, rows))

    def execute(self, statement: str, params: Any = ()) -> sqlite3.Cursor:
        cursor = self.db.execute(statement, params)
        if statement == "BEGIN":
            self._open = []
        elif statement == "COMMIT":
            if self._open:
                self.transactions.append(self._open)
            self._open = None
        else:
            self._note(statement, [params])
        return cursor

    def executemany(self, statement: str, rows: Any) -> sqlite3.Cursor:
        rows = list(rows)
        cursor = self.db.executemany(statement, rows)
        self._note(statement, rows)
        return cursor


def record(runner: Runner) -> list[Transaction]:
    """Run `runner` (a fresh folder) once; the rows its store wrote, per transaction."""
    recorder = _Recorder(runner.store.db)
    runner.store.db = recorder  # type: ignore[assignment]
    try:
        asyncio.run(runner.run())
    finally:
        runner.store.db = recorder.db
        runner.close()
    return recorder.transactions


def write_floor(path: Path, transactions: list[Transaction]) -> None:
    """Write `transactions` into a fresh store at `path`: the floor's timed work."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    inserts = {
        table: f"INSERT INTO {table} VALUES ({', '.join('?' * columns)})"
        for table, columns in (("results", 12), ("scores", 11), ("calls", 14), ("judgments", 10))
    }
    dumps = json.dumps
    for transaction in transactions:
        db.execute("BEGIN")
        for table, rows in transaction:
            columns, stamp = JSON_COLUMNS[table], STAMPS.get(table)
            encoded = []
            for row in rows:
                values = list(row)
                for column in columns:
                    if values[column] is not None:
                        values[column] = dumps(values[column])
                if stamp is not None:
                    values[stamp] = time.time()
                encoded.append(values)
            db.executemany(inserts[table], encoded)
        db.execute("COMMIT")
    db.close()


def counts(transactions: list[Transaction]) -> dict[str, int]:
    """Rows per table, and transactions: what the floor writes."""
    rows: dict[str, int] = {"transactions": len(transactions)}
    for transaction in transactions:
        for table, written in transaction:
            rows[table] = rows.get(table, 0) + len(written)
    return rows


def floor_lines(rounds: list[dict[str, Any]], per: dict[str, list[float]], clock: str) -> list[str]:
    """What the store's floor says about the target: the least a durable harness reads."""
    median = {name: statistics.median(values) for name, values in per.items()}
    rows = rounds[0]["floor_rows"]
    written = ", ".join(f"{rows[t]} {t}" for t in ("results", "calls", "scores", "judgments"))
    least = [
        (r["models"][clock] + r["floor"][clock] - r["plain"][clock]) / r["graphs"][clock]
        for r in rounds
    ]
    low = (per["models"][0] + per["floor"][0] - per["plain"][0]) / per["graphs"][0]
    # What is composer's alone: its time beyond the graphs with the models and the floor.
    own = [
        1 + (r["composer"][clock] - r["models"][clock] - r["floor"][clock]) / r["graphs"][clock]
        for r in rounds
    ]
    return [
        f"  the store's floor: {median['floor']:.2f} ms/instance, median ({written} rows in "
        f"{rows['transactions']} transactions); composer - LangGraph + models, median: "
        f"{median['composer'] - median['models']:.2f} ms/instance",
        f"  the least a durable harness of these graphs reads, (LangGraph + models + floor - "
        f"plain) / LangGraph alone: {low:.2f}x from the minimums, "
        f"{statistics.median(least):.2f}x median of the rounds "
        f"(rounds {min(least):.2f} to {max(least):.2f})",
        f"  composer's own, 1 + (composer - LangGraph + models - floor) / LangGraph alone, "
        f"median of the rounds: {statistics.median(own):.2f}x "
        f"(rounds {min(own):.2f} to {max(own):.2f})",
    ]
