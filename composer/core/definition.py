"""What defines a system: the frozen record the run store keeps and every reader gets back.

Binding builds a `SystemDefinition` (graphs with their code and options, role bindings, the
bound models' options, the prompts' digest, composer's version); the store saves its JSON form
(`to_json`) and compares it on resume; the report and the CLI read it back (`from_json`) with
its `kind` (composed, unified or specialist) and `mode` (direct or stepwise) typed, never as a
dict read by key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["composed", "unified", "specialist"]
Mode = Literal["direct", "stepwise"]


def direct_or_stepwise(graphs: Iterable[str]) -> Mode:
    """A system is run directly when every axis runs the `direct` graph, else stepwise."""
    return "direct" if set(graphs) == {"direct"} else "stepwise"


class AxisDefinition(BaseModel):
    """One axis of a system: its graph, the graph's options, role bindings and code.

    `code` is `builtin` or the sha256 of a user strategy file; an imported axis has none (its
    `graph` is `imported` and `options` say where the outputs came from).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    graph: str
    options: Mapping[str, Any] = {}
    roles: Mapping[str, str] = {}
    code: str | None = None


class SystemDefinition(BaseModel):
    """A system as the run store keeps it; two runs are of one system when these are equal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    mode: Mode
    axes: Mapping[str, AxisDefinition]
    """Per axis (`UEG`, `GEU`), in that order."""
    imported: bool = False
    models: Mapping[str, Mapping[str, Any]] | None = None
    """The bound models' options (never an API key: `api_key_file` is kept as written)."""
    prompts: str | None = None
    """A hash of every prompt the built-in agents and the benchmark's protocol send."""
    composer: str | None = None
    """composer's version when the system was first run."""

    def role(self, axis: str, role: str) -> str:
        """The model bound to `role` on `axis`."""
        return self.axes[axis].roles[role]

    def to_json(self) -> dict[str, Any]:
        """The stored JSON form: only what is set, so a definition keeps its stored bytes."""
        data = self.model_dump(mode="json", exclude_none=True)
        if not self.imported:
            del data["imported"]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SystemDefinition:
        """Read a stored definition back."""
        return cls.model_validate(data)
