"""minimal: the reasoner rewrites the prompt, then the generator draws the rewrite (UEG)."""

from dataclasses import dataclass

import composer.graphs as cg


class State(cg.UEGState, total=False):
    prompt: str


@dataclass(frozen=True)
class Roles:
    reasoner: cg.Understander
    generator: cg.Generator


async def plan(state: State, runtime: cg.Runtime[Roles]) -> dict:
    asked = cg.rewrite_request_of(state["instance"])  # the benchmark's wording (RealUnify's)
    reply = await cg.rewrite(runtime.context.reasoner, state["instance"].text, request=asked)
    return {"prompt": reply.prompt}


async def draw(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"image": await runtime.context.generator.generate(state["prompt"], seed=state["seed"])}


@cg.register_graph("minimal", axes=(cg.Axis.UEG,))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    graph = cg.StateGraph(State, context_schema=Roles).add_sequence([plan, draw])
    return cg.Strategy("minimal", axis, graph.add_edge(cg.START, "plan").compile(), Roles)
