"""One task's trace, read from the store: each model call its graph's nodes (and judges) made.

A result stores its steps in order (`usage["steps"]`, see `composer.core.callsite.Tally`):
the node and role that made each call, its cache key, and whether it was replayed. This module
joins them with the `calls` table into `Step`s (what was asked and what came back), which the
HTML instance page and `composer trace` show. A result stored before steps were recorded falls
back to the calls first sent for its (system, instance), in the order they were recorded.
`Traces` reads the steps of many results at once (the HTML report's pages): the calls, the
judges and their scores' usages in one query each, where `steps_of` costs a few per result.

`output_fields` flattens a stored output (nested dicts and lists) into labelled fields, marking
every image reference (`sha256:...`) so a page can show it as a picture.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

from composer.evaluation.store import Result, RunStore
from composer.evaluation.store_checks import json_object, json_objects, reading_row, row_name

IMAGE_URI = re.compile(r"^sha256:[0-9a-f]{64}$")
"""A stored image reference (`ImageRef.uri`)."""


@dataclass(frozen=True)
class Step:
    """One model call of a task, as the store recorded it."""

    node: str
    """The graph node (its `@node` name, else LangGraph's), or `judge`."""
    role: str
    """The graph role whose model made the call (a judge's label for judge calls)."""
    model: str
    method: str
    """understand, generate or edit."""
    prompt: str
    reply: str
    """The text reply of an understand call (empty for an image reply or a failure)."""
    images_in: tuple[str, ...]
    """Image references the call was given (`sha256:...`)."""
    images_out: tuple[str, ...]
    """Image references it returned."""
    latency_s: float | None
    """How long the call took when it was sent (a replay costs no time now)."""
    cached: bool | None
    """Replayed from the cache (None: not recorded, a result stored before steps were)."""
    error: str | None
    """Why the call failed or was refused; None when it returned."""
    options: Mapping[str, Any]
    seed: int | None


_new = object.__new__


def _images(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if IMAGE_URI.match(value) else ()
    if isinstance(value, list):
        return tuple([v for v in value if isinstance(v, str) and IMAGE_URI.match(v)])
    return ()


class _CallRecord(Protocol):
    """What a step shows of its call: a stored `Call`, or a row `Traces` read for a page."""

    @property
    def model(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def request(self) -> Mapping[str, Any]: ...
    @property
    def reply(self) -> Mapping[str, Any]: ...
    @property
    def latency_s(self) -> float | None: ...


class _Called(NamedTuple):
    model: str
    method: str
    request: Mapping[str, Any]
    reply: Mapping[str, Any]
    latency_s: float | None


def _step(
    node: str, role: str, call: _CallRecord | None, step: Mapping[str, Any], cached: bool | None
) -> Step:
    request: Mapping[str, Any] = call.request if call else step.get("request") or {}
    reply: Mapping[str, Any] = call.reply if call else {}
    error = step.get("error") or (f"refused: {reply['refused']}" if reply.get("refused") else None)
    if call is None and error is None:
        error = "the call's record is missing from the store"
    text = reply.get("text")
    seed = request.get("seed")
    # Every field of `Step` set at once: the frozen dataclass's `__init__` sets each with its
    # own `object.__setattr__`, 3 us of the 7 a step cost (a 10,000-instance report's pages
    # build 286,000). tests/report/test_trace.py checks the two build the same `Step`.
    built = _new(Step)
    built.__dict__.update(
        node=node or "-",
        role=role,
        model=call.model if call else str(step.get("model", "")),
        method=call.method if call else str(step.get("method", "")),
        prompt=str(request.get("prompt", "")),
        reply=text if isinstance(text, str) else "",
        images_in=_images(request.get("images")),
        images_out=_images(reply.get("image")),
        latency_s=call.latency_s if call else None,
        cached=cached,
        error=error,
        options=dict(request.get("options") or {}),
        seed=seed if isinstance(seed, int) else None,
    )
    return built


def _from_usage(
    calls: Mapping[str, _CallRecord], recorded: Sequence[Mapping[str, Any]], role: str = ""
) -> list[Step]:
    return [
        _step(
            str(s.get("node", "")),
            str(s.get("role") or role),
            calls.get(str(s.get("key", ""))),
            s,
            bool(s.get("cached")),
        )
        for s in recorded
    ]


def _keys(recorded: Any) -> list[str]:
    if not isinstance(recorded, list):
        return []
    return [str(s["key"]) for s in recorded if isinstance(s, Mapping) and s.get("key")]


T = TypeVar("T")
Row = tuple[Any, ...]


def _decoded(
    path: Path, rows: Iterable[Row], decode: Callable[[Row], T], name: Callable[[Row], str]
) -> Iterator[tuple[Row, T]]:
    """Each row with its decoding; one that does not decode stops the report, named.

    The store's own `reading_row`, entered only for a row that failed: a context manager per
    row was a tenth of a large report's pages.
    """
    for row in rows:
        try:
            yield row, decode(row)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            with reading_row(path, name(row)):
                decode(row)
            raise


def _number(value: Any) -> float | None:
    if value is not None and not isinstance(value, int | float):
        raise TypeError(f"latency_s {value!r} is not a number")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{type(value).__name__} where text belongs")
    return value


def _whole(value: Any) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{value!r} is not a whole number")
    return value


def read_calls(store: RunStore, keys: Iterable[str]) -> dict[str, _CallRecord]:
    """The recorded calls with these cache keys, as much of each as a step shows.

    What `RunStore.calls_by_key` reads, without a pydantic model per call: a 10,000-instance
    run's pages show about 200,000 calls.
    """
    rows = list(store.call_rows_by_key(keys, "key, model, method, request, reply, latency_s"))
    # The requests and replies decoded together (`json_objects`); else each, the first row
    # that does not read named.
    requests = json_objects([r[3] or "{}" for r in rows])
    replies = json_objects([r[4] or "{}" for r in rows]) if requests is not None else None
    if requests is not None and replies is not None:
        try:
            return {
                r[0]: _Called(_text(r[1]), _text(r[2]), request, reply, _number(r[5]))
                for r, request, reply in zip(rows, requests, replies, strict=True)
            }
        except TypeError:
            pass  # a row that does not read: named below
    return {
        row[0]: call
        for row, call in _decoded(store.path, rows, _called, lambda r: f"the calls row {r[0]!r}")
    }


def _called(r: Row) -> _Called:
    return _Called(
        _text(r[1]),
        _text(r[2]),
        json_object(r[3] or "{}"),
        json_object(r[4] or "{}"),
        _number(r[5]),
    )


Output = tuple[str, str, int]
"""(system, instance, seed): one stored output."""

BULK_FROM = 50
"""From this many results on, `Traces` reads every score's call steps in one query."""


def judge_steps(store: RunStore, outputs: Collection[Output]) -> dict[Output, dict[str, Any]]:
    """Per output, per judge id, the call steps its score recorded: one query for many outputs.

    What `RunStore.score_usages` reads for one output (only the steps kept), for many: a page
    per instance of a 10,000-instance run would otherwise query the scores table 60,000 times.
    The query names the outputs' systems and instances, which the scores table's key serves:
    only a batch of pages' scores are read, so what it keeps does not grow with the run.
    """
    if len(outputs) < BULK_FROM:
        return {o: {j: u.get("steps") for j, u in store.score_usages(*o).items()} for o in outputs}
    wanted = set(outputs)
    found: dict[Output, dict[str, Any]] = {}
    systems = sorted({o[0] for o in wanted})
    instances = sorted({o[1] for o in wanted})
    step = max(1, 900 - len(systems))  # under SQLite's limit on parameters
    for start in range(0, len(instances), step):
        chunk = instances[start : start + step]
        query = (
            "SELECT system, instance, seed, judge, usage FROM scores"
            f" WHERE system IN ({', '.join('?' * len(systems))})"
            f" AND instance IN ({', '.join('?' * len(chunk))}) ORDER BY rowid"
        )
        rows = (
            r for r in store.db.execute(query, (*systems, *chunk)) if (r[0], r[1], r[2]) in wanted
        )
        for row, usage in _decoded(
            store.path,
            rows,
            lambda r: json_object(r[4] or "{}"),
            lambda r: row_name("scores", *r[:4]),
        ):
            found.setdefault((row[0], row[1], row[2]), {})[row[3]] = usage.get("steps")
    return found


class PageJudgment(NamedTuple):
    """What a page shows of one judgment: a `Judgment`'s fields, without a pydantic model each."""

    position: int
    question: str
    expected: str
    reply: str
    official: str | None
    strict: str | None


def _judgment_row(r: Row) -> bool:
    """Whether a judgments row of `PageJudgments` reads without a check of each field."""
    return (
        type(r[2]) is int
        and type(r[3]) is str
        and type(r[4]) is str
        and type(r[5]) is str
        and (r[6] is None or type(r[6]) is str)
        and (r[7] is None or type(r[7]) is str)
    )


class PageJudgments:
    """`RunStore.all_judgments(judge)`, read a batch of pages at a time.

    Of the lowest run seed, as `all_judgments`; each batch in one query that the judgments
    table's key serves (system and instance), built without a pydantic model per judgment.

    Example:
        >>> PageJudgments(store, None).of(["composed"], ["UEG-1"])  # doctest: +SKIP
        {('composed', 'UEG-1'): [PageJudgment(position=0, ...), ...]}
    """

    def __init__(self, store: RunStore, judge: str | None) -> None:
        """The judgments of `judge` (default: the latest run's headline judge) in `store`."""
        if judge is None:
            latest = store.latest_run()
            judge = latest["judges"][0] if latest and latest["judges"] else ""
        row = store.db.execute("SELECT MIN(seed) FROM judgments").fetchone()
        self.store = store
        self.judge = judge
        self.seed = row[0] if row and row[0] is not None else 0

    def of(
        self, systems: Collection[str], instances: Collection[str]
    ) -> dict[tuple[str, str], list[PageJudgment]]:
        """The judgments of these systems on these instances, by (system, instance)."""
        found: dict[tuple[str, str], list[PageJudgment]] = {}
        wanted = sorted(set(instances))
        names = sorted(set(systems))
        columns = "system, instance, position, question, expected, reply, official, strict"
        step = max(1, 900 - len(names))  # under SQLite's limit on parameters
        for start in range(0, len(wanted), step):
            chunk = wanted[start : start + step]
            query = (
                f"SELECT {columns} FROM judgments WHERE system IN ({', '.join('?' * len(names))})"
                f" AND instance IN ({', '.join('?' * len(chunk))}) AND seed = ? AND judge = ?"
                " ORDER BY system, instance, position"
            )
            rows = self.store.db.execute(query, (*names, *chunk, self.seed, self.judge)).fetchall()
            if all(_judgment_row(r) for r in rows):  # each field of its type: built at once
                for r in rows:
                    found.setdefault((r[0], r[1]), []).append(PageJudgment._make(r[2:]))
                continue
            for r, judgment in _decoded(
                self.store.path,
                rows,
                lambda r: PageJudgment(
                    _whole(r[2]),
                    _text(r[3]),
                    _text(r[4]),
                    _text(r[5]),
                    None if r[6] is None else _text(r[6]),
                    None if r[7] is None else _text(r[7]),
                ),
                lambda r: f"the judgments row of {r[0]!r}, {r[1]!r}, {r[2]!r}",
            ):
                found.setdefault((r[0], r[1]), []).append(judgment)
        return found


class Traces:
    """The steps of many results, read with one query per table instead of a few per result.

    The calls a batch of results made, and their scores' call steps, are read together by
    `prefetch`, a batch at a time, the previous batch forgotten first: what a large run's pages
    keep is one batch, not the run. `steps` reads one result's where no batch was read.

    Example:
        >>> traces = Traces(store)  # doctest: +SKIP
        >>> traces.prefetch(results[:100])  # doctest: +SKIP
        >>> [step.node for step in traces.steps(results[0])]  # doctest: +SKIP
        ['rewrite', 'draw', 'judge', 'judge']
    """

    def __init__(self, store: RunStore, *, judges: bool = True) -> None:
        """The steps of results in `store` (`judges`: with their judges' calls)."""
        self.store = store
        self.judges = judges
        self.labels: dict[str, str] = {}
        self.asked: set[Output] = set()
        self.fetched: set[Output] = set()
        """The results whose calls `prefetch` read: a call it did not find is not stored."""
        self.judged: dict[Output, dict[str, Any]] = {}
        self.calls: dict[str, _CallRecord] = {}
        if judges:
            self.labels = {i: j["label"] for i, j in store.judges().items()}

    def _judged(self, result: Result) -> dict[str, Any]:
        output = (result.system, result.instance, result.seed)
        if output in self.asked:
            return self.judged.get(output, {})
        return judge_steps(self.store, [output]).get(output, {})

    def _keys(self, result: Result) -> list[str]:
        keys = _keys(result.usage.get("steps"))
        if self.judges and isinstance(result.usage.get("steps"), list):
            keys += [k for steps in self._judged(result).values() for k in _keys(steps)]
        return keys

    def prefetch(self, results: Iterable[Result]) -> None:
        """Read the calls of these results (and their judges) in one go, forgetting earlier ones."""
        batch = list(results)
        # Forgotten before the next batch is read, not after: two batches at once were the
        # peak memory of a large run's report.
        self.calls, self.judged, self.asked = {}, {}, set()
        self.fetched = {(r.system, r.instance, r.seed) for r in batch}
        if self.judges:
            self.asked = {
                (r.system, r.instance, r.seed)
                for r in batch
                if isinstance(r.usage.get("steps"), list)
            }
            self.judged = judge_steps(self.store, self.asked)
        self.calls = read_calls(self.store, (k for r in batch for k in self._keys(r)))

    def steps(self, result: Result) -> list[Step]:
        """The model calls behind `result`, in order: its graph's nodes, then its judges'."""
        recorded = result.usage.get("steps")
        if not isinstance(recorded, list):
            # A result stored before steps were recorded: the calls first sent for it.
            steps = [
                _step(c.node, "", c, {}, None)
                for c in self.store.calls_sent_for(result.system, result.instance)
            ]
            return steps if self.judges else [s for s in steps if s.node != "judge"]
        if (result.system, result.instance, result.seed) not in self.fetched:
            missing = [k for k in self._keys(result) if k not in self.calls]
            self.calls.update(read_calls(self.store, missing))
        steps = _from_usage(self.calls, recorded)
        if self.judges:
            for judge, judge_steps in self._judged(result).items():
                if isinstance(judge_steps, list):
                    steps += _from_usage(self.calls, judge_steps, self.labels.get(judge, judge))
        return steps


def steps_of(store: RunStore, result: Result, *, judges: bool = True) -> list[Step]:
    """The model calls behind `result`, in order: its graph's nodes, then (`judges`) its judges.

    Example:
        >>> for step in steps_of(store, result):  # doctest: +SKIP
        ...     print(step.node, step.role, step.prompt, step.reply)
    """
    return Traces(store, judges=judges).steps(result)


FieldKind = Literal["text", "image", "value"]


@dataclass(frozen=True)
class OutputField:
    """One leaf of a stored output: where it sits (`rounds[0].image`), its kind and value."""

    path: str
    kind: FieldKind
    value: str


def output_fields(output: Any, path: str = "") -> list[OutputField]:
    """Every leaf of a stored output, image references marked, in the output's order.

    Example:
        >>> output_fields({"rounds": [{"image": "sha256:" + "0" * 64, "ok": False}]})[1]
        OutputField(path='rounds[0].ok', kind='value', value='false')
    """
    if isinstance(output, Mapping):
        found: list[OutputField] = []
        for key, value in output.items():
            found += output_fields(value, f"{path}.{key}" if path else str(key))
        return found
    if isinstance(output, list | tuple):
        return [f for i, v in enumerate(output) for f in output_fields(v, f"{path}[{i}]")]
    if isinstance(output, str):
        return [OutputField(path, "image" if IMAGE_URI.match(output) else "text", output)]
    if output is None or isinstance(output, bool):
        return [OutputField(path, "value", {None: "null", True: "true", False: "false"}[output])]
    return [OutputField(path, "value", str(output))]
