"""generate-then-reason: generation first, then understanding (RealUnify's GEU step).

    START -> edit -> answer -> END

The editor edits the input image with the per-category edit prompt; the reasoner answers the
question from the edited image (option `show_original`: from both images).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from composer.agents.answer import answer as answer_agent
from composer.core.instance import Axis
from composer.core.outputs import EDITED_IMAGE, RESPONSE, GEUStepOutput
from composer.graphs.base import (
    GEUState,
    GraphOptions,
    Strategy,
    edit_request_of,
    node,
    parse_options,
    register_graph,
)
from composer.specialists.base import Editor, Understander


class State(GEUState, GEUStepOutput, total=False):
    """The instance, its seed, the edited image (the step the report shows) and the answer."""


@dataclass(frozen=True)
class Roles:
    """The editor edits, the reasoner answers."""

    editor: Editor
    reasoner: Understander


class Options(GraphOptions):
    """Options of generate-then-reason."""

    show_original: bool = False
    """Show the reasoner the input image before the edited one (not the official protocol)."""


@node
async def edit(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Edit the input image as the category's edit prompt asks."""
    instance = state["instance"]
    image = await runtime.context.editor.edit(
        edit_request_of(instance), list(instance.images), seed=state["seed"]
    )
    return {EDITED_IMAGE: image}


def _build_answer(options: Options) -> Any:
    @node
    async def answer(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
        """Answer the question from the edited image."""
        instance = state["instance"]
        images = [state["edited_image"]]
        if options.show_original:
            images[:0] = instance.images
        reply = await answer_agent(runtime.context.reasoner, images, instance.text)
        return {RESPONSE: reply.text}

    return answer


@register_graph("generate-then-reason", axes=(Axis.GEU,))
def build(axis: Axis, options: Mapping[str, Any]) -> Strategy:
    """Build edit -> answer."""
    parsed = parse_options("generate-then-reason", Options, options)
    builder = StateGraph(State, context_schema=Roles)
    builder.add_node("edit", edit)
    builder.add_node("answer", _build_answer(parsed))
    builder.add_edge(START, "edit")
    builder.add_edge("edit", "answer")
    builder.add_edge("answer", END)
    return Strategy("generate-then-reason", axis, builder.compile(), Roles)
