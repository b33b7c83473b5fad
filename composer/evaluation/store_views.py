"""Reading the run store: its row models and every read the runner and the reports make.

`StoreViews` is the reading half of `RunStore` (`composer.evaluation.store`, which creates the
tables and writes them): runs, systems and judges, instances, results with their scores and
judgments, and calls.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from composer.benchmarks.realunify.records import read_stored
from composer.core.decisions import RunDecisions
from composer.core.definition import SystemDefinition
from composer.core.failure import Failure
from composer.core.instance import Instance, Parser

Status = Literal["ok", "failed", "refused", "unscored"]


class Result(BaseModel):
    """The outcome of one system on one instance."""

    system: str
    instance: str
    axis: str
    category: str
    status: Status
    seed: int = 0
    """The run seed this output was made under (one of the run file's `seeds`)."""
    output: dict[str, Any] = {}
    correct_official: bool | None = None
    correct_strict: bool | None = None
    error: str | None = None
    failure: Failure | None = None
    """Where a graph failed (graph, node, line, traceback), when its own code failed it."""
    latency_s: float = 0.0
    """Wall time of the task that produced the output, as this run saw it (replays are fast)."""
    cost_usd: float | None = None
    """What the output's model calls cost, sent or replayed: the cost if run alone."""
    usage: dict[str, Any] = {}
    """The task's model calls: counts, sent and replayed, cost if alone and spent, model time,
    tokens and images, and the same per graph node (see `composer.core.callsite.Tally`)."""
    judge: str | None = None
    """Who scored it: the UEG judge's label, or the GEU choice reader."""


class Scored(BaseModel):
    """One judge's score of one stored output."""

    judge: str
    """The judge's id (see `composer.evaluation.judges.Judge.id`)."""
    status: Literal["ok", "failed", "refused"]
    """`refused`: the judge declined to judge (a content-policy refusal), not a failure."""
    correct_official: bool | None = None
    correct_strict: bool | None = None
    error: str | None = None
    usage: dict[str, Any] = {}
    channels: dict[str, dict[str, Any]] = {}
    """Named values beyond the headline correctness: channel -> {kind, official, strict[, note]}
    (a Uni-MMMU scorer's frame accuracy, distances, rubric scores)."""


class Judgment(BaseModel):
    """One judge question put about one output, with the raw reply and both readings."""

    position: int
    question: str
    expected: str
    reply: str
    official: str | None
    strict: str | None


class Call(BaseModel):
    """One recorded model call: what was asked (`request`, a summary) and what came back."""

    key: str
    model: str
    method: str
    request: dict[str, Any]
    reply: dict[str, Any]
    latency_s: float | None = None
    cost_usd: float | None = None
    system: str = ""
    instance: str = ""
    node: str = ""
    """The node of the task that first sent it (a replay by another task is in its steps)."""
    sent: int = 1
    attempts: int | None = None


_CALL_COLUMNS = (
    "key, model, method, request, reply, latency_s, cost_usd, system, instance, node, sent, "
    "attempts"
)


def _call(row: tuple[Any, ...]) -> Call:
    names = [n.strip() for n in _CALL_COLUMNS.split(",")]
    data = dict(zip(names, row, strict=True))
    data["request"] = json.loads(data["request"] or "{}")
    data["reply"] = json.loads(data["reply"] or "{}")
    return Call.model_validate({k: v for k, v in data.items() if v is not None})


def record_content(record: str) -> dict[str, Any]:
    """An instance record without where it was loaded from (a moved dataset is the same).

    A record of the flat shape older run folders hold is read as the instance it describes,
    so a folder written before instances were benchmark-neutral resumes unchanged.
    """
    data = read_stored(json.loads(record)).model_dump(mode="json")
    data.pop("source", None)
    return data


def _failure(row: tuple[Any, ...]) -> Failure | None:
    """A results row's failure; a folder from before failures were stored has none."""
    text = row[11] if len(row) > 11 else None
    return Failure.model_validate_json(text) if text else None


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


PROGRAMMATIC_SCORERS = ("choice-reader", "uni-mmmu-programmatic")
"""The id prefixes of the scorers that score GEU outputs without a judge model."""


class StoreViews:
    """The reads of a run store; `RunStore` adds the schema, the lock and the writes."""

    run_dir: Path
    path: Path
    db: sqlite3.Connection

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
        config = json.loads(row[0])
        return {
            "config": config,
            "versions": json.loads(row[1]),
            "seed": row[2],
            "seeds": list(config.get("seeds") or [row[2]]),
            "judges": json.loads(row[3] or "[]"),
            "record": json.loads(row[4] or "{}"),
        }

    def decisions(self) -> RunDecisions:
        """The latest invocation's decisions (derived from its run file in older folders)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'decisions'").fetchone()
        if row is not None:
            return RunDecisions.model_validate_json(row[0])
        latest = self.latest_run()
        if latest is None:
            return RunDecisions()
        return RunDecisions.from_config(latest["config"], tuple(latest["judges"]))

    def system_definitions(self) -> dict[str, SystemDefinition]:
        """Every system definition this run has seen."""
        rows = self.db.execute("SELECT name, definition FROM systems").fetchall()
        return {name: SystemDefinition.from_json(json.loads(text)) for name, text in rows}

    def system_drawings(self) -> dict[str, dict[str, str]]:
        """Per system, the Mermaid drawing of each axis's graph, stored when it was first run."""
        rows = self.db.execute("SELECT name, drawings FROM systems").fetchall()
        return {name: json.loads(text or "{}") for name, text in rows}

    def judges(self) -> dict[str, dict[str, Any]]:
        """Every judge that judged in this run folder: id to `{label, definition}`."""
        rows = self.db.execute("SELECT id, label, definition FROM judges ORDER BY rowid")
        return {i: {"label": label, "definition": json.loads(d)} for i, label, d in rows}

    def instances(self) -> dict[str, Instance]:
        """The recorded instances by id."""
        rows = self.db.execute("SELECT record FROM instances").fetchall()
        return {i.id: i for i in (read_stored(json.loads(r[0])) for r in rows)}

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
        judge of the latest run), a GEU output with those of the choice reader (`geu_judge`,
        default: whichever version scored it last). An output the judge has not scored is
        `unscored` with the reason; a judge that failed makes it `failed`, one that declined
        `refused`; a score the headline `parser` cannot read is `unscored`.
        """
        if judge is None:
            latest = self.latest_run()
            judge = latest["judges"][0] if latest and latest["judges"] else None
        labels = {i: j["label"] for i, j in self.judges().items()}
        scores: dict[tuple[str, str, int], dict[str, tuple[Any, ...]]] = {}
        query = "SELECT system, instance, seed, judge, status, correct_official, correct_strict, "
        query += "error FROM scores" + (" WHERE system = ?" if system else "") + " ORDER BY updated"
        for row in self.db.execute(query, (system,) if system else ()):
            scores.setdefault((row[0], row[1], row[2]), {})[row[3]] = row[4:]
        query = "SELECT * FROM results" + (" WHERE system = ?" if system else "")
        for row in self.db.execute(query + " ORDER BY rowid", (system,) if system else ()):
            result = Result(
                system=row[0],
                instance=row[1],
                seed=row[2],
                axis=row[3],
                category=row[4],
                status=row[5],
                output=json.loads(row[6]),
                error=row[7],
                latency_s=row[8],
                usage=json.loads(row[9] or "{}"),
                failure=_failure(row),
            )
            result.cost_usd = result.usage.get("cost_usd")
            if result.status != "ok":
                yield result
                continue
            mine = scores.get((result.system, result.instance, result.seed), {})
            if result.axis == "UEG":
                wanted = judge
                result.judge = labels.get(judge or "", judge)
            else:
                geu = [k for k in mine if k.startswith(PROGRAMMATIC_SCORERS)]
                wanted = geu_judge if geu_judge in mine else (geu[-1] if geu else None)
                result.judge = (
                    labels.get(wanted or "", "")
                    if (wanted or "").startswith("uni-mmmu")
                    else "exact match (choice reader)"
                )
            score = mine.get(wanted or "")
            if score is None:
                result.status = "unscored"
                result.error = f"not judged by {result.judge or 'any judge'}"
            elif score[0] in ("failed", "refused"):  # a judge that declined: refused
                result.status, result.error = score[0], score[3]
            else:
                result.correct_official, result.correct_strict = _bool(score[1]), _bool(score[2])
                headline = (
                    result.correct_official if parser == "official" else result.correct_strict
                )
                result.status = "unscored" if headline is None else "ok"
            yield result

    def channels(self, system: str | None = None) -> dict[tuple[str, str, int], dict[str, Any]]:
        """Every stored score's named channels: (system, instance, seed) -> scorer -> channels."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(scores)")}
        if "channels" not in columns:  # a folder from before schema 5, read as it is
            return {}
        query = "SELECT system, instance, seed, judge, channels FROM scores WHERE status = 'ok'"
        query += " AND channels IS NOT NULL" + (" AND system = ?" if system else "")
        found: dict[tuple[str, str, int], dict[str, Any]] = {}
        for row in self.db.execute(query + " ORDER BY updated", (system,) if system else ()):
            found.setdefault((row[0], row[1], row[2]), {})[row[3]] = json.loads(row[4])
        return found

    def progress(
        self,
    ) -> tuple[dict[tuple[str, str, int], str], dict[tuple[str, str, int], dict[str, str]]]:
        """What is done, for planning a resumed run.

        The result status per (system, instance, seed), and per output its score statuses by
        judge.
        """
        results = {
            (s, i, seed): st
            for s, i, seed, st in self.db.execute(
                "SELECT system, instance, seed, status FROM results"
            )
        }
        scores: dict[tuple[str, str, int], dict[str, str]] = {}
        for s, i, seed, j, st in self.db.execute(
            "SELECT system, instance, seed, judge, status FROM scores"
        ):
            scores.setdefault((s, i, seed), {})[j] = st
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

    def judgment_rows(
        self,
    ) -> list[tuple[str, str, str, int, str, str | None, str | None, int]]:
        """(system, instance, judge, position, expected, official, strict, seed) per judgment."""
        return list(
            self.db.execute(
                "SELECT system, instance, judge, position, expected, official, strict, seed "
                "FROM judgments"
            )
        )

    def score_rows(self) -> list[tuple[str, str, str, str, bool | None, bool | None, int]]:
        """(system, instance, judge, status, official, strict, seed) of every stored score."""
        return [
            (s, i, j, st, _bool(o), _bool(t), seed)
            for s, i, j, st, o, t, seed in self.db.execute(
                "SELECT system, instance, judge, status, correct_official, correct_strict, seed "
                "FROM scores"
            )
        ]

    def get_call(self, key: str) -> dict[str, Any] | None:
        """The cached reply of a call, or None."""
        row = self.db.execute("SELECT reply FROM calls WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

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
            "SELECT model, json_extract(usage, '$.model') AS reported, COUNT(*) FROM calls "
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
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def calls_by_key(self, keys: Iterable[str]) -> dict[str, Call]:
        """The recorded calls with these cache keys (a key never recorded is left out)."""
        wanted = sorted(set(keys))
        found: dict[str, Call] = {}
        for start in range(0, len(wanted), 500):  # under SQLite's limit on parameters
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            query = f"SELECT {_CALL_COLUMNS} FROM calls WHERE key IN ({marks})"
            found.update((row[0], _call(row)) for row in self.db.execute(query, chunk))
        return found

    def calls_sent_for(self, system: str, instance: str) -> list[Call]:
        """The calls first sent for (system, instance), in the order they were recorded."""
        query = f"SELECT {_CALL_COLUMNS} FROM calls WHERE system = ? AND instance = ?"
        query += " ORDER BY rowid"
        return [_call(row) for row in self.db.execute(query, (system, instance))]

    def score_usages(self, system: str, instance: str, seed: int) -> dict[str, dict[str, Any]]:
        """Per judge id, the usage (and call steps) of its score of one output."""
        rows = self.db.execute(
            "SELECT judge, usage FROM scores WHERE system = ? AND instance = ? AND seed = ? "
            "ORDER BY rowid",
            (system, instance, seed),
        )
        return {judge: json.loads(usage or "{}") for judge, usage in rows}
