"""think-edit-answer: a GEU strategy of our own, plugged in from a file.

    START -> plan -> edit -> answer -> END

The reasoner first says what edit would make the answer visible, the editor performs that
edit (instead of the fixed per-category prompt), and the reasoner answers from the result.
Use it with `geu = "examples/custom_strategy.py:build"`; no change to composer is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from composer.agents.answer import answer as answer_agent
from composer.agents.answer import choice_request
from composer.core.images import ImageRef
from composer.core.instance import Axis, Instance
from composer.graphs.base import Strategy, node
from composer.specialists.base import Editor, Understander

PLAN_PROMPT = (
    "Here is a question about the image: {question}\n"
    "Describe in one sentence an edit of the image that would make the answer obvious. "
    "Respond only with the edit instruction."
)


class State(TypedDict, total=False):
    instance: Instance
    seed: int
    instruction: str
    edited_image: ImageRef
    response: str


@dataclass(frozen=True)
class Roles:
    reasoner: Understander
    editor: Editor


@node
async def plan(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Ask the reasoner which edit would help."""
    instance = state["instance"]
    assert instance.image is not None
    reply = await runtime.context.reasoner.understand(
        PLAN_PROMPT.format(question=instance.question), [instance.image]
    )
    return {"instruction": reply.text.strip()}


@node
async def edit(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Perform the planned edit."""
    instance = state["instance"]
    assert instance.image is not None
    image = await runtime.context.editor.edit(
        state["instruction"], [instance.image], seed=state["seed"]
    )
    return {"edited_image": image}


@node
async def answer(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Answer from the edited image."""
    instance = state["instance"]
    request = instance.evaluation_prompt or choice_request(
        instance.question or "", instance.options
    )
    reply = await answer_agent(runtime.context.reasoner, [state["edited_image"]], request)
    return {"response": reply.text}


def build(axis: Axis, options: Mapping[str, Any]) -> Strategy:
    """Build plan -> edit -> answer (GEU only)."""
    builder = StateGraph(State, context_schema=Roles)
    for step in (plan, edit, answer):
        builder.add_node(step.__name__, step)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "edit")
    builder.add_edge("edit", "answer")
    builder.add_edge("answer", END)
    return Strategy("think-edit-answer", axis, builder.compile(), Roles)


build.axes = (Axis.GEU,)  # type: ignore[attr-defined]
