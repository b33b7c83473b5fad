"""sketch-then-draw: the reasoner rewrites the task as a drawing brief, the generator draws it.

START -> sketch -> draw -> END
"""

from dataclasses import dataclass

import composer.graphs as cg


class State(cg.UEGState, total=False):
    brief: str


@dataclass(frozen=True)
class Roles:
    reasoner: cg.Understander
    generator: cg.Generator


async def sketch(state: State, runtime: cg.Runtime[Roles]) -> dict:
    instance = state["instance"]
    request = cg.rewrite_request_of(instance)  # the benchmark's own wording, where it has one
    brief = await cg.rewrite(runtime.context.reasoner, instance.text, request=request)
    return {"brief": brief.prompt}


async def draw(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"image": await runtime.context.generator.generate(state["brief"], seed=state["seed"])}


@cg.register_graph("sketch-then-draw", axes=(cg.Axis.UEG,))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    graph = cg.StateGraph(State, context_schema=Roles).add_sequence([sketch, draw])
    compiled = graph.add_edge(cg.START, "sketch").compile()
    return cg.Strategy("sketch-then-draw", axis, compiled, Roles)
