"""The strategies, as LangGraph graphs, and the one place a strategy author imports from.

`composer.graphs.base` holds the registry; each other module is one strategy. A strategy file
needs only this package (`examples/minimal_strategy.py` is a whole strategy in 17 lines):

    import composer.graphs as cg

    @cg.register_graph("sketch-first", axes=(cg.Axis.UEG,))
    def build(axis: cg.Axis, options: dict) -> cg.Strategy: ...

The LangGraph names (`StateGraph`, `START`, `END`, `Runtime`) are loaded on first use, so
importing this package does not import langgraph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composer.agents.answer import Answer, answer
from composer.agents.revise import revise
from composer.agents.rewrite import Rewrite, rewrite
from composer.agents.verify import Verdict, derive_checks, verify
from composer.core.images import ImageRef
from composer.core.instance import Axis, Check, ImagePart, Instance, OutputSpec, TextPart
from composer.core.outputs import GEUOutput, GEUStepOutput, UEGOutput, UEGStepOutput
from composer.graphs.base import (
    GEUState,
    GraphOptions,
    Strategy,
    UEGState,
    edit_request_of,
    get_graph,
    graphs,
    node,
    parse_options,
    register_graph,
    rewrite_request_of,
)
from composer.specialists.base import CallOptions, Editor, Generator, TextReply, Understander

if TYPE_CHECKING:
    from langgraph.graph import END, START, StateGraph
    from langgraph.runtime import Runtime

_LANGGRAPH = {
    "END": "langgraph.graph",
    "START": "langgraph.graph",
    "StateGraph": "langgraph.graph",
    "Runtime": "langgraph.runtime",
}

__all__ = [
    "END",
    "START",
    "Answer",
    "Axis",
    "CallOptions",
    "Check",
    "Editor",
    "GEUOutput",
    "GEUState",
    "GEUStepOutput",
    "Generator",
    "GraphOptions",
    "ImagePart",
    "ImageRef",
    "Instance",
    "OutputSpec",
    "Rewrite",
    "Runtime",
    "StateGraph",
    "Strategy",
    "TextPart",
    "TextReply",
    "UEGOutput",
    "UEGState",
    "UEGStepOutput",
    "Understander",
    "Verdict",
    "answer",
    "derive_checks",
    "edit_request_of",
    "get_graph",
    "graphs",
    "node",
    "parse_options",
    "register_graph",
    "revise",
    "rewrite_request_of",
    "rewrite",
    "verify",
]


def __getattr__(name: str) -> Any:
    """Load a LangGraph name on first use."""
    module = _LANGGRAPH.get(name)
    if module is None:
        raise AttributeError(f"module 'composer.graphs' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
