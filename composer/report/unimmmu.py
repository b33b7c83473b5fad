"""Uni-MMMU in the report: each task's summary under the release's keys, and its leaderboard.

Only a run holding Uni-MMMU instances gets these (`attach` changes nothing otherwise):

- `systems[SYSTEM]["tasks"][TASK]`: what the release writes into that task's `summary.json`
  (`composer.benchmarks.unimmmu.summaries`), read from the stored channels under the report's
  headline parser; `tasks_strict` (or `tasks_official` under a strict headline) holds the other
  reading, as `by_category_<other>` does for RealUnify.
- `report["unimmmu"]`: the 14 leaderboard columns per system in the project page's form, the
  page's own rows quoted (`"quoted": true`, never recomputed), composer's stated Avg rule,
  whether k was told or withheld, how many instances each task scored, and every channel that
  could not be scored with the reason (e.g. the jigsaw image distance without DreamSim).

Every seed's outputs count, as in the rest of the report. A judged task is read from the judge
the report leads with (its model), else the latest run's first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from composer.benchmarks.unimmmu.channels import Channel, Channels, Kind
from composer.benchmarks.unimmmu.instances import BENCHMARK, item_of
from composer.benchmarks.unimmmu.leaderboard import (
    AVERAGE_RULE,
    PUBLISHED,
    RELEASE_COLUMNS,
    TABLE_COLUMNS,
    Cell,
    average,
    release_row,
    table_row,
)
from composer.benchmarks.unimmmu.records import Task
from composer.benchmarks.unimmmu.summaries import Reading, summarize
from composer.core.instance import STOP, Instance
from composer.evaluation.store import RunStore
from composer.report.model import Report
from composer.report.numbers import one_decimal

PROGRAMMATIC = "uni-mmmu-programmatic"
JUDGED = "uni-mmmu-judged"
_TASK_COLUMNS = {
    task: [short for short, name in TABLE_COLUMNS.items() if RELEASE_COLUMNS[name][0] is task]
    for task in Task
}

TITLE = "Uni-MMMU leaderboard (0-100; maze and sliding step/sample; quoted rows as published)"
"""The leaderboard table's title in every format."""

Rows = dict[str, dict[Task, list[Channels]]]
"""System -> task -> one `Channels` per scored output."""


def _channel(stored: Mapping[str, Any]) -> Channel:
    return Channel(
        Kind(stored["kind"]), stored.get("official"), stored.get("strict"), stored.get("note", "")
    )


def _pick(found: Mapping[str, Any], prefix: str, preferred: list[str]) -> str | None:
    """The scorer of `prefix` whose channels to read: the first preferred one, else the latest."""
    mine = [i for i in found if i.startswith(prefix)]
    for scorer in preferred:
        if scorer in mine:
            return scorer
    return mine[-1] if mine else None


def _preferred(store: RunStore, judge_id: str | None) -> list[str]:
    """The latest run's scorer ids, the judged one of the report's judge model first."""
    latest = store.latest_run()
    current = list(latest["judges"]) if latest else []
    judges = store.judges()
    model = judges.get(judge_id or "", {}).get("definition", {}).get("model")
    lead = [
        i
        for i in current
        if i.startswith(JUDGED) and judges.get(i, {}).get("definition", {}).get("model") == model
    ]
    return lead + [i for i in current if i not in lead]


def _rows(
    store: RunStore, instances: Mapping[str, Instance], systems: list[str], judge_id: str | None
) -> Rows:
    preferred = _preferred(store, judge_id)
    rows: Rows = {name: defaultdict(list) for name in systems}
    # In case order (instance ids are task-case), the order the release's scorer walks cases.
    stored = sorted(store.channels().items(), key=lambda kv: (kv[0][1], kv[0][2]))
    for (system, instance_id, _seed), found in stored:
        instance = instances.get(instance_id)
        if instance is None or system not in rows:
            continue
        merged: Channels = {}
        for prefix in (PROGRAMMATIC, JUDGED):
            scorer = _pick(found, prefix, preferred)
            if scorer is not None:
                merged.update({k: _channel(v) for k, v in found[scorer].items()})
        if merged:
            rows[system][Task(instance.category)].append(merged)
    return rows


def _unscored(system: str, task: Task, rows: list[Channels]) -> list[dict[str, Any]]:
    """Each channel some outputs could not score, with how many and why."""
    found: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        for name, channel in row.items():
            if channel.strict is None:
                found[name].append(channel.note or "no reason recorded")
    return [
        {
            "system": system,
            "task": task.value,
            "channel": name,
            "count": len(notes),
            "of": len(rows),
            "reason": _reasons(notes),
        }
        for name, notes in found.items()
    ]


def _reasons(notes: list[str], shown: int = 3) -> str:
    """The distinct reasons, the first `shown` of them and how many more."""
    distinct = list(dict.fromkeys(notes))
    more = len(distinct) - shown
    return "; ".join(distinct[:shown]) + (f"; and {more} other reasons" if more > 0 else "")


def _cell(cell: Cell) -> float | list[float] | None:
    return list(cell) if isinstance(cell, tuple) else cell


def task_means(row: Mapping[str, Cell]) -> dict[str, float]:
    """Per task with every column present: the mean of its columns (0-100).

    Maze and sliding at sample level, as `leaderboard.AVERAGE_RULE` takes them.
    """
    means = {}
    for task, columns in _TASK_COLUMNS.items():
        cells = [row.get(c) for c in columns]
        if all(cell is not None for cell in cells):
            values = [c[1] if isinstance(c, tuple) else c for c in cells if c is not None]
            means[task.value] = sum(values) / len(values)
    return means


def _loops(
    store: RunStore, instances: Mapping[str, Instance], systems: list[str]
) -> dict[str, dict[str, int]]:
    """Per system, its outputs of open loops (k withheld): ended by the system, or at the cap.

    A loop was ended when a step reply (any reply but the final call's) holds the instance's
    `STOP` marker, as the interleaved graph reads it. Outputs that keep no replies (imported
    from another harness) are not counted.
    """
    markers = {i: x.request(STOP) for i, x in instances.items() if not x.output.images_told}
    found: dict[str, dict[str, int]] = {}
    if not markers:
        return found
    for name in systems:
        ended = capped = 0
        for result in store.results(name):
            marker = markers.get(result.instance)
            replies = result.output.get("replies")
            if not marker or result.status != "ok" or not isinstance(replies, list):
                continue
            steps = [r.lower() for r in replies[:-1] if isinstance(r, str)]
            if any(marker.lower() in r for r in steps):
                ended += 1
            else:
                capped += 1
        if ended or capped:
            found[name] = {"ended": ended, "capped": capped}
    return found


def _k_note(
    instances: Mapping[str, Instance], loops: Mapping[str, Mapping[str, int]] | None = None
) -> dict[str, Any]:
    """Whether the systems were told k (maze and sliding), as the release does, or not.

    Told: the release's loop, one step call per ground-truth move. Withheld: composer's open
    loop, which the system ends itself, capped at `max_steps` (the instances' step calls);
    `loops` (`_loops`) says per system how many of its loops met the cap.
    """
    stepwise = [i for i in instances.values() if item_of(i).expected.k_given]
    told = sum(1 for i in stepwise if i.output.images_told)
    withheld = len(stepwise) - told
    cap = max((_cap(i) for i in stepwise if not i.output.images_told), default=None)
    loop = f"each system ended its own step loop (at most {cap} steps, [benchmark] max_steps)"
    if not stepwise:
        text = "No maze or sliding instances: k does not apply."
    elif not withheld:
        text = f"k (the number of ground-truth moves) was told on all {told} maze and sliding "
        text += "instances, as the release does."
    elif not told:
        text = f"k (the number of ground-truth moves) was withheld on all {withheld} maze and "
        text += f"sliding instances ([benchmark] withhold_k = true): {loop}; the release tells it."
    else:
        text = f"k was told on {told} and withheld on {withheld} maze and sliding instances "
        text += f"(where withheld, {loop})."
    note: dict[str, Any] = {"told": told, "withheld": withheld, "text": text}
    if cap is not None:
        note["max_steps"] = cap
        note["loops"] = {name: dict(counts) for name, counts in (loops or {}).items()}
        if loops:
            met = ", ".join(
                f"{name} {c['capped']} of {c['ended'] + c['capped']}" for name, c in loops.items()
            )
            note["text"] = f"{text} Loops that met the cap (never ended by the system): {met}."
    return note


def _cap(instance: Instance) -> int:
    """The most steps an open loop lets the system take: its image calls (one per step)."""
    return sum(1 for call in instance.calls if call.output == "image")


def _system_row(name: str, summaries: Mapping[Task, Any]) -> dict[str, Any]:
    row = table_row(summaries)
    return {
        "system": name,
        "quoted": False,
        "cells": {k: _cell(v) for k, v in row.items()},
        "avg": average(row),
        "task_means": task_means(row),
        "release_row": release_row(summaries),
    }


def section(
    store: RunStore, report: Report, stored: Mapping[str, Instance] | None = None
) -> dict[str, Any] | None:
    """The Uni-MMMU part of `report` (see the module docstring); None without such instances.

    Returns `{"tasks": {system: {headline: ..., other: ...}}, "unimmmu": {...}}`; `attach`
    puts them in place. `stored` is `store.instances()` where the caller holds it already.
    """
    stored = store.instances() if stored is None else stored
    instances = {i: x for i, x in stored.items() if x.benchmark == BENCHMARK}
    if not instances:
        return None
    headline: Reading = report["parser"]
    other: Reading = "strict" if headline == "official" else "official"
    systems = list(report["systems"])
    rows = _rows(store, instances, systems, report.get("judge_id"))
    present = [t for t in Task if any(Task(i.category) is t for i in instances.values())]
    tasks: dict[str, dict[str, Any]] = {}
    board, unscored, coverage = [], [], {}
    for name in systems:
        mine = rows[name]
        lead = {t: summarize(t, mine.get(t, []), headline) for t in present}
        tasks[name] = {
            "tasks": {t.value: lead[t] for t in present},
            f"tasks_{other}": {t.value: summarize(t, mine.get(t, []), other) for t in present},
        }
        board.append(_system_row(name, lead))
        coverage[name] = {
            t.value: {
                "instances": sum(1 for i in instances.values() if i.category == t.value),
                "scored_outputs": len(mine.get(t, [])),
            }
            for t in present
        }
        for t in present:
            unscored += _unscored(name, t, mine.get(t, []))
    return {
        "tasks": tasks,
        "unimmmu": {
            "parser": headline,
            "k": _k_note(instances, _loops(store, instances, systems)),
            "columns": {short: name for short, name in TABLE_COLUMNS.items()},
            "rows": board,
            "published": [
                {
                    "model": q.model,
                    "quoted": True,
                    "cells": {k: _cell(v) for k, v in q.cells.items()},
                    "avg": q.avg,
                    "source": q.source,
                }
                for q in PUBLISHED
            ],
            "avg_rule": AVERAGE_RULE,
            "coverage": coverage,
            "unscored": unscored,
        },
    }


def attach(report: Report, store: RunStore, stored: Mapping[str, Instance] | None = None) -> None:
    """Add the Uni-MMMU tasks and leaderboard to `report` when the run holds Uni-MMMU.

    `stored` is `store.instances()` where the caller holds it already.
    """
    found = section(store, report, stored)
    if found is None:
        return
    for name, entry in found["tasks"].items():
        system = report["systems"][name]
        system["tasks"] = entry["tasks"]
        if "tasks_strict" in entry:
            system["tasks_strict"] = entry["tasks_strict"]
        else:
            system["tasks_official"] = entry["tasks_official"]
    report["unimmmu"] = found["unimmmu"]


def _text(cell: Any) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, list):
        return f"{one_decimal(cell[0])}/{one_decimal(cell[1])}"
    return one_decimal(cell)


def leaderboard_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """The leaderboard as a table: the run's systems, then the project page's rows (quoted).

    Scores 0-100, maze and sliding as step/sample, the code rubrics x20; Avg by composer's
    rule for the run's rows (`-` where a task is missing), as published for quoted rows.
    No rows for a run without Uni-MMMU.
    """
    board = report.get("unimmmu")
    if not board:
        return [], []
    columns = list(board["columns"])
    header = ["system", "source", *columns, "Avg"]
    rows = [
        [r["system"], "this run", *(_text(r["cells"].get(c)) for c in columns), _text(r["avg"])]
        for r in board["rows"]
    ]
    rows += [
        [q["model"], "quoted", *(_text(q["cells"].get(c)) for c in columns), _text(q["avg"])]
        for q in board["published"]
    ]
    return header, rows


def notes(report: Report) -> list[str]:
    """The sentences under the leaderboard: k, the Avg rule, and each unscored channel."""
    board = report.get("unimmmu")
    if not board:
        return []
    lines = [
        board["k"]["text"],
        "Quoted rows: the project page's table as published (not recomputed).",
        board["avg_rule"],
    ]
    for u in board["unscored"]:
        lines.append(
            f"Unscored: {u['system']} {u['task']} {u['channel']} on {u['count']} of "
            f"{u['of']} outputs ({u['reason']})."
        )
    return lines
