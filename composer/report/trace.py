"""One task's trace, read from the store: each model call its graph's nodes (and judges) made.

A result stores its steps in order (`usage["steps"]`, see `composer.core.callsite.Tally`):
the node and role that made each call, its cache key, and whether it was replayed. This module
joins them with the `calls` table into `Step`s (what was asked and what came back), which the
HTML instance page and `composer trace` show. A result stored before steps were recorded falls
back to the calls first sent for its (system, instance), in the order they were recorded.

`output_fields` flattens a stored output (nested dicts and lists) into labelled fields, marking
every image reference (`sha256:...`) so a page can show it as a picture.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from composer.evaluation.store import Result, RunStore
from composer.evaluation.store_views import Call

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


def _images(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if IMAGE_URI.match(value) else ()
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str) and IMAGE_URI.match(v))
    return ()


def _step(
    node: str, role: str, call: Call | None, step: Mapping[str, Any], cached: bool | None
) -> Step:
    request: Mapping[str, Any] = call.request if call else step.get("request") or {}
    reply: Mapping[str, Any] = call.reply if call else {}
    error = step.get("error") or (f"refused: {reply['refused']}" if reply.get("refused") else None)
    if call is None and error is None:
        error = "the call's record is missing from the store"
    text = reply.get("text")
    seed = request.get("seed")
    return Step(
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


def _from_usage(
    store: RunStore, recorded: Sequence[Mapping[str, Any]], role: str = ""
) -> list[Step]:
    calls = store.calls_by_key(s["key"] for s in recorded if s.get("key"))
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


def steps_of(store: RunStore, result: Result, *, judges: bool = True) -> list[Step]:
    """The model calls behind `result`, in order: its graph's nodes, then (`judges`) its judges.

    Example:
        >>> for step in steps_of(store, result):  # doctest: +SKIP
        ...     print(step.node, step.role, step.prompt, step.reply)
    """
    recorded = result.usage.get("steps")
    if isinstance(recorded, list):
        steps = _from_usage(store, recorded)
    else:
        steps = [
            _step(c.node, "", c, {}, None)
            for c in store.calls_sent_for(result.system, result.instance)
        ]
        if not judges:
            steps = [s for s in steps if s.node != "judge"]
        return steps
    if judges:
        labels = {i: j["label"] for i, j in store.judges().items()}
        usages = store.score_usages(result.system, result.instance, result.seed)
        for judge, usage in usages.items():
            judge_steps = usage.get("steps")
            if isinstance(judge_steps, list):
                steps += _from_usage(store, judge_steps, labels.get(judge, judge))
    return steps


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
