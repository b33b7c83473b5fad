"""direct: one call does the whole task, as RealUnify's direct evaluation.

UEG:  START -> draw -> END        model: Generator draws the instance's text as given
GEU:  START -> answer -> END      model: Understander answers the instance's request about its
                                  images (the benchmark's wording)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from composer.agents.answer import answer as answer_agent
from composer.core.images import ImageRef
from composer.core.instance import Axis, Instance
from composer.core.outputs import IMAGE, RESPONSE
from composer.graphs.base import GraphOptions, Strategy, node, parse_options, register_graph
from composer.specialists.base import Generator, Understander


class State(TypedDict, total=False):
    """Inputs (`instance`, `seed`) and the output of either axis."""

    instance: Instance
    seed: int
    image: ImageRef
    response: str


@dataclass(frozen=True)
class UEGRoles:
    """One generator draws the prompt."""

    model: Generator


@dataclass(frozen=True)
class GEURoles:
    """One understander answers the question."""

    model: Understander


@node
async def draw(state: State, runtime: Runtime[UEGRoles]) -> dict[str, Any]:
    """Draw the instance's text as it is."""
    image = await runtime.context.model.generate(state["instance"].text, seed=state["seed"])
    return {IMAGE: image}


@node
async def answer(state: State, runtime: Runtime[GEURoles]) -> dict[str, Any]:
    """Answer the instance's request from its images, as the benchmark words it."""
    instance = state["instance"]
    reply = await answer_agent(runtime.context.model, instance.images, instance.text)
    return {RESPONSE: reply.text}


@register_graph("direct", axes=(Axis.UEG, Axis.GEU))
def build(axis: Axis, options: Mapping[str, Any]) -> Strategy:
    """Build the one-step graph for `axis`."""
    parse_options("direct", GraphOptions, options)
    roles: type = UEGRoles if axis is Axis.UEG else GEURoles
    step = draw if axis is Axis.UEG else answer
    builder = StateGraph(State, context_schema=roles)
    builder.add_node(step.__name__, step)
    builder.add_edge(START, step.__name__)
    builder.add_edge(step.__name__, END)
    return Strategy("direct", axis, builder.compile(), roles)
