"""decompose-then-generate: understanding first, then generation (RealUnify's UEG step).

    START -> rewrite -> draw -> END

The reasoner refines the prompt with the paper's template (the data's step prompt when the
benchmark has one); the generator draws the rewrite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from composer.agents.rewrite import rewrite as rewrite_agent
from composer.core.instance import Axis
from composer.core.outputs import IMAGE, REWRITE, UEGStepOutput
from composer.graphs.base import (
    GraphOptions,
    Strategy,
    UEGState,
    node,
    parse_options,
    register_graph,
    rewrite_request_of,
)
from composer.specialists.base import Generator, Understander


class State(UEGState, UEGStepOutput, total=False):
    """The instance, its seed, the rewrite (the step the report shows) and the image."""


@dataclass(frozen=True)
class Roles:
    """The reasoner rewrites, the generator draws."""

    reasoner: Understander
    generator: Generator


class Options(GraphOptions):
    """Options of decompose-then-generate."""

    use_step_prompt: bool = True
    """Send the benchmark's own step prompt when it has one (RealUnify's `new_prompt`)."""


def _build_rewrite(options: Options) -> Any:
    @node
    async def rewrite(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
        """Refine the prompt into an explicit one."""
        instance = state["instance"]
        request = rewrite_request_of(instance, options.use_step_prompt)
        result = await rewrite_agent(runtime.context.reasoner, instance.text, request=request)
        return {REWRITE: result.prompt}

    return rewrite


@node
async def draw(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Draw the rewritten prompt."""
    image = await runtime.context.generator.generate(state["rewrite"], seed=state["seed"])
    return {IMAGE: image}


@register_graph("decompose-then-generate", axes=(Axis.UEG,))
def build(axis: Axis, options: Mapping[str, Any]) -> Strategy:
    """Build rewrite -> draw."""
    parsed = parse_options("decompose-then-generate", Options, options)
    builder = StateGraph(State, context_schema=Roles)
    builder.add_node("rewrite", _build_rewrite(parsed))
    builder.add_node("draw", draw)
    builder.add_edge(START, "rewrite")
    builder.add_edge("rewrite", "draw")
    builder.add_edge("draw", END)
    return Strategy("decompose-then-generate", axis, builder.compile(), Roles)
