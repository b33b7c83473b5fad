"""interleaved: a benchmark's own call sequence, replayed over a growing context.

    START -> (think | draw) -> (think | draw) ... -> END      one node per call, in order

Each call sees the context so far (its text parts joined by lines, then the call's suffix) and
every image in it. A text call goes to the reasoner; an image call to the editor when the
context holds images, else to the generator. A call that feeds back appends its output (after
its label) to the context of the later calls: Uni-MMMU's sample scripts, where one unified
model makes every call (bind `model`, or all three roles to it), or a reasoner the text calls
and an image model the image calls (the published "GPT4.1 + GPT-image" row).

`text-only` is the same loop with the image calls left out: an understanding model answers
without drawing (lmms-eval's standard mode).

A loop the model ends: an instance with a `STOP` request (Uni-MMMU's maze and sliding with k
withheld) lists its step calls up to a cap, then its last call. A text reply holding the
marker (in any case), to any call but the last, ends the loop there: the next call is the last
one, so the model, not the instance, decides how many steps are taken.

    ... -> think (reply holds the marker) -> think (the last call) -> END
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from composer.core.images import ImageRef
from composer.core.instance import STOP, Axis, CallSpec, ImagePart, Instance, TextPart
from composer.core.outputs import IMAGE, RESPONSE
from composer.graphs.base import GraphOptions, Strategy, node, parse_options, register_graph
from composer.specialists.base import Editor, Generator, Understander


class InterleavedState(TypedDict, total=False):
    """The inputs, the context as it grows, the scored outputs and every image drawn."""

    instance: Instance
    seed: int
    position: int
    """How many of the instance's calls are done."""
    texts: list[str]
    images: list[ImageRef]
    response: str
    """The kept text (the one the benchmark scores)."""
    image: ImageRef
    """The first kept image (what a UEG instance is scored on)."""
    drawn: list[ImageRef]
    """Every kept image, in call order (maze and sliding: the step frames)."""
    replies: list[str]
    """Every text reply, in call order."""


@dataclass(frozen=True)
class Roles:
    """The reasoner makes the text calls; the editor and the generator the image calls."""

    reasoner: Understander
    editor: Editor
    generator: Generator


@dataclass(frozen=True)
class TextOnlyRoles:
    """The reasoner makes every text call; nothing is drawn."""

    reasoner: Understander


def _start(state: InterleavedState) -> dict[str, Any]:
    instance = state["instance"]
    return {
        "position": 0,
        "texts": [p.text for p in instance.context if isinstance(p, TextPart)],
        "images": [p.image for p in instance.context if isinstance(p, ImagePart)],
        "drawn": [],
        "replies": [],
        RESPONSE: "",
    }


def _call(state: InterleavedState) -> CallSpec:
    return state["instance"].calls[state["position"]]


def _request(state: InterleavedState, call: CallSpec) -> str:
    return "\n".join([*state["texts"], call.suffix])


def _fed_back(state: InterleavedState, call: CallSpec, text: str | None) -> list[str]:
    texts = list(state["texts"])
    if call.feed_back:
        if call.label:
            texts.append(call.label)
        if text is not None:
            texts.append(text)
    return texts


def _next(state: InterleavedState, reply: str) -> int:
    """The call after a text call: the next, or the last once the reply ends the loop (`STOP`)."""
    instance, position = state["instance"], state["position"]
    last = len(instance.calls) - 1
    marker = instance.request(STOP)
    if marker and position < last and marker.lower() in reply.lower():
        return last
    return position + 1


@node
async def think(state: InterleavedState, runtime: Runtime[Any]) -> dict[str, Any]:
    """Make the next text call on the context so far."""
    call = _call(state)
    reply = await runtime.context.reasoner.understand(_request(state, call), state["images"])
    update: dict[str, Any] = {
        "position": _next(state, reply.text),
        "texts": _fed_back(state, call, reply.text),
        "replies": [*state["replies"], reply.text],
    }
    if call.kept:
        update[RESPONSE] = reply.text
    return update


@node
async def draw(state: InterleavedState, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Make the next image call: an edit of the context's images, or a drawing from its text."""
    call = _call(state)
    request = _request(state, call)
    seed = state["seed"] + state["position"]
    roles = runtime.context
    if state["images"]:
        image = await roles.editor.edit(request, state["images"], seed=seed)
    else:
        image = await roles.generator.generate(request, seed=seed)
    update: dict[str, Any] = {
        "position": state["position"] + 1,
        "texts": _fed_back(state, call, None),
        "images": [*state["images"], image] if call.feed_back else state["images"],
    }
    if call.kept:
        update["drawn"] = [*state["drawn"], image]
        if not state["drawn"]:
            update[IMAGE] = image
    return update


def _skip(state: InterleavedState) -> dict[str, Any]:
    """Leave an image call out (text-only): nothing is drawn, nothing fed back but its label."""
    call = _call(state)
    return {"position": state["position"] + 1, "texts": _fed_back(state, call, None)}


def _route(state: InterleavedState) -> Literal["think", "draw", "__end__"]:
    calls = state["instance"].calls
    if state["position"] >= len(calls):
        return "__end__"
    return "think" if calls[state["position"]].output == "text" else "draw"


class Options(GraphOptions):
    """Options of interleaved and text-only (none yet)."""


def _build(name: str, axis: Axis, options: Mapping[str, Any], *, drawing: bool) -> Strategy:
    parse_options(name, Options, options)
    roles: type = Roles if drawing else TextOnlyRoles
    builder = StateGraph(InterleavedState, context_schema=roles)
    builder.add_node("start", _start)
    builder.add_node("think", think)
    builder.add_node("draw", draw if drawing else _skip)
    builder.add_edge(START, "start")
    for source in ("start", "think", "draw"):
        builder.add_conditional_edges(source, _route, ["think", "draw", END])
    return Strategy(name, axis, builder.compile(), roles)


@register_graph("interleaved", axes=(Axis.UEG, Axis.GEU))
def build(axis: Axis, options: Mapping[str, Any]) -> Strategy:
    """Build the call loop over a growing context (a benchmark's own protocol)."""
    return _build("interleaved", axis, options, drawing=True)


@register_graph(
    "text-only",
    axes=(Axis.GEU,),
    description="a benchmark's own call sequence without its image calls (it answers "
    "without drawing).",
)
def build_text_only(axis: Axis, options: Mapping[str, Any]) -> Strategy:
    """Build the call loop without its image calls: answer without drawing."""
    return _build("text-only", axis, options, drawing=False)
