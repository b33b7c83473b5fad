"""Where a model call comes from: the (system, instance, node) that the run store records."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class NodeUsage:
    """What the calls of one graph node (or the judge) used."""

    calls: int = 0
    sent: int = 0
    cost_usd: float = 0.0
    spent_usd: float = 0.0
    model_s: float = 0.0


@dataclass
class Tally:
    """What the calls of one task used, summed as they return, whether sent or replayed.

    A replayed call (from the cache, or shared with a task that sent it at the same moment) is
    charged at what it cost when it was sent: `cost_usd` and `model_s` are what the task would
    cost if run alone, whatever ran before it. `spent_usd` counts only the calls this task sent.
    """

    calls: int = 0
    sent: int = 0
    cost_usd: float = 0.0
    spent_usd: float = 0.0
    has_cost: bool = False
    model_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    by_node: dict[str, NodeUsage] = field(default_factory=dict)
    understood: list[tuple[str, str]] = field(default_factory=list)
    """(cache key, text) of every text reply the task used, so that a reply an agent could not
    parse can be found and set aside (`CallLayer.set_aside`)."""
    steps: list[dict[str, Any]] = field(default_factory=list)
    """Every call of the task in the order it returned: `{key, node, role, cached}`, or for a
    call that failed `{node, role, model, method, request, error}` (no reply was stored). The
    report joins each key with the `calls` table to show what the step asked and got."""

    def charge(
        self, node: str, reply: dict[str, Any], *, sent: bool, key: str = "", role: str = ""
    ) -> None:
        """Add one call's usage, as its reply recorded it, and its step (`key`: cache key)."""
        self.steps.append({"key": key, "node": node, "role": role, "cached": not sent})
        usage = reply.get("usage") or {}
        cost = usage.get("cost_usd")
        latency = float(reply.get("latency_s") or 0.0)
        entry = self.by_node.setdefault(node, NodeUsage())
        self.calls += 1
        entry.calls += 1
        self.model_s += latency
        entry.model_s += latency
        self.input_tokens += int(usage.get("input_tokens") or 0)
        self.output_tokens += int(usage.get("output_tokens") or 0)
        self.images += int(usage.get("images") or 0)
        if sent:
            self.sent += 1
            entry.sent += 1
        if cost is not None:
            self.has_cost = True
            self.cost_usd += cost
            entry.cost_usd += cost
            if sent:
                self.spent_usd += cost
                entry.spent_usd += cost

    def fail(self, node: str, role: str, call: dict[str, Any], error: str) -> None:
        """Record a call that failed (`call`: its model, method and request summary)."""
        self.steps.append({"node": node, "role": role, **call, "error": error})

    def as_dict(self) -> dict[str, Any]:
        """The JSON form stored with a result or a score."""
        return {
            "calls": self.calls,
            "sent": self.sent,
            "replayed": self.calls - self.sent,
            "cost_usd": self.cost_usd if self.has_cost else None,
            "spent_usd": self.spent_usd if self.has_cost else None,
            "model_s": self.model_s,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "images": self.images,
            "nodes": {
                name: {
                    "calls": n.calls,
                    "sent": n.sent,
                    "cost_usd": n.cost_usd if self.has_cost else None,
                    "spent_usd": n.spent_usd if self.has_cost else None,
                    "model_s": n.model_s,
                }
                for name, n in sorted(self.by_node.items())
            },
            "steps": list(self.steps),
        }


@dataclass(frozen=True)
class CallSite:
    """The task and graph node a call is made for; `tally` is shared by the whole task."""

    system: str = ""
    instance: str = ""
    node: str = ""
    tally: Tally = field(default_factory=Tally, compare=False)


current_site: ContextVar[CallSite] = ContextVar("composer_call_site", default=CallSite())  # noqa: B039
"""Set by the runner per task and by the graph layer per node; read by the call layer."""


_NODE_NAMERS: list[Callable[[], str]] = []


def name_nodes_with(namer: Callable[[], str]) -> None:
    """Register how to name the node running now when no `@node` named it.

    The graphs layer registers LangGraph's, so the call layer records it without importing
    the graphs.
    """
    if namer not in _NODE_NAMERS:
        _NODE_NAMERS.append(namer)


def site_of_call() -> CallSite:
    """The current call site, its node named by a registered namer when no `@node` named it."""
    site = current_site.get()
    if site.node:
        return site
    for namer in _NODE_NAMERS:
        name = namer()
        if name:
            return dataclasses.replace(site, node=name)
    return site
