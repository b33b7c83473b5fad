"""The run store's tables, its schema version, and the check both its reader and writer make.

`RunStore` (`composer.evaluation.store`) reads a run folder and `RunWriter`
(`composer.evaluation.store_writer`) writes one; both open `run.db` through `check_schema`,
which refuses a store of another composer version and one that lost a table.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from composer.core.errors import ConfigError
from composer.evaluation.store_checks import damaged

SCHEMA_VERSION = "5"
"""Bumped when a table changes. A folder of an older version that `MIGRATIONS` leads from is
read as it is, and brought up to date by the first write of a run (so a rejected run leaves it
as it was); any other version is refused with the fix.
3: the run seed is part of a result's identity (results, scores and judgments).
4: a failed result keeps where its graph failed (`results.failure`: graph, node, traceback).
5: a score keeps its named channels (`scores.channels`: graded values beyond correctness)."""

MIGRATIONS: dict[str, tuple[str, list[str]]] = {
    "3": ("4", ["ALTER TABLE results ADD COLUMN failure TEXT"]),
    "4": ("5", ["ALTER TABLE scores ADD COLUMN channels TEXT"]),
}
"""Per schema version, the next version and the statements that lead there."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL, config TEXT, versions TEXT, seed INTEGER,
    judges TEXT, record TEXT
);
CREATE TABLE IF NOT EXISTS systems (name TEXT PRIMARY KEY, definition TEXT, drawings TEXT);
CREATE TABLE IF NOT EXISTS judges (id TEXT PRIMARY KEY, label TEXT, definition TEXT);
CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, axis TEXT, category TEXT, record TEXT);
CREATE TABLE IF NOT EXISTS results (
    system TEXT, instance TEXT, seed INTEGER, axis TEXT, category TEXT, status TEXT, output TEXT,
    error TEXT, latency_s REAL, usage TEXT, updated REAL, failure TEXT,
    PRIMARY KEY (system, instance, seed)
);
CREATE TABLE IF NOT EXISTS scores (
    system TEXT, instance TEXT, seed INTEGER, judge TEXT, status TEXT, correct_official INTEGER,
    correct_strict INTEGER, error TEXT, usage TEXT, updated REAL, channels TEXT,
    PRIMARY KEY (system, instance, seed, judge)
);
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY, model TEXT, method TEXT, request TEXT, reply TEXT, usage TEXT,
    latency_s REAL, cost_usd REAL, system TEXT, instance TEXT, node TEXT, sent INTEGER,
    created REAL, attempts INTEGER
);
CREATE TABLE IF NOT EXISTS judgments (
    system TEXT, instance TEXT, seed INTEGER, judge TEXT, position INTEGER, question TEXT,
    expected TEXT, reply TEXT, official TEXT, strict TEXT,
    PRIMARY KEY (system, instance, seed, judge, position)
);
"""

TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA))
"""Every table a run store holds; a store missing one is damaged."""


def check_schema(db: sqlite3.Connection, run_dir: Path, path: Path, *, create: bool) -> str | None:
    """Check (and with `create`, make) the tables of `db`; the older version it holds, if any.

    A reader (`create` false) refuses an empty store; a writer creates the tables of an empty
    one. The version returned is one `MIGRATIONS` leads from: the writer migrates it before its
    first write, and a reader reads it as it is. `db` is closed before an error is raised.

    Raises:
        ConfigError: the store is empty (for a reader), or of another composer version.
        DamagedRunError: a table is gone.
    """
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    if not tables and not create:
        db.close()
        raise ConfigError(
            str(run_dir), "holds an empty run.db.", "Pass a folder written by composer run."
        )
    made = not tables
    if not tables:
        # One transaction, so a second process opening the new store at the same moment
        # (a reader, or a writer the lock will turn away) sees all of it or none.
        db.executescript(
            f"BEGIN IMMEDIATE;\n{SCHEMA}\n"
            f"INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');\nCOMMIT;"
        )
        tables = {"meta"}
    found = None
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        found = row[0] if row else None
    if found != SCHEMA_VERSION and found not in MIGRATIONS:
        db.close()
        raise ConfigError(
            str(run_dir),
            f"was written by another version of composer (run store schema {found or 1}, "
            f"this composer reads {SCHEMA_VERSION}).",
            "Run into a new --out folder, or use the composer version that wrote it.",
        )
    lost = sorted(TABLES - tables)
    if lost and not made:
        db.close()
        raise damaged(path, f"its table {', '.join(lost)} is gone")
    return found if found in MIGRATIONS else None
