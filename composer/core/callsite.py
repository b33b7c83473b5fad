"""Where a model call comes from: the (system, instance, node) that the run store records."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What the calls of one (system, instance) task cost, summed as they return."""

    calls: int = 0
    sent: int = 0
    cost_usd: float = 0.0
    has_cost: bool = False
    by_node: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CallSite:
    """The task and graph node a call is made for; `tally` is shared by the whole task."""

    system: str = ""
    instance: str = ""
    node: str = ""
    tally: Tally = field(default_factory=Tally, compare=False)


current_site: ContextVar[CallSite] = ContextVar("composer_call_site", default=CallSite())  # noqa: B039
"""Set by the runner per task and by the graph layer per node; read by the call layer."""
