"""best-of-n: a UEG strategy of our own, plugged in from a file.

    START -> rewrite --\
    START -> derive ----+-> draw_candidates -> select -> END

The reasoner rewrites the prompt and derives yes/no checks from it; the generator draws `n`
candidates from the rewrite with different seeds; the reasoner verifies every candidate and
the one that passes most checks is the output. Bind it with
`ueg = { graph = "custom_strategy.py:build", n = 4 }` in a run file beside it (a path is read
from the run file's folder), as custom_strategy.toml does; composer itself is unchanged.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from composer.graphs import (
    END,
    START,
    Axis,
    Check,
    Generator,
    GraphOptions,
    ImageRef,
    Runtime,
    StateGraph,
    Strategy,
    UEGState,
    UEGStepOutput,
    Understander,
    derive_checks,
    node,
    parse_options,
    register_graph,
    rewrite_request_of,
    verify,
)
from composer.graphs import rewrite as rewrite_agent


class State(UEGState, UEGStepOutput, total=False):
    """The runner's inputs and the image (`UEGState`), the rewrite the report shows
    (`UEGStepOutput`), and this strategy's own keys."""

    checks: tuple[Check, ...]
    candidates: list[ImageRef]
    scores: Annotated[list[int], operator.add]


@dataclass(frozen=True)
class Roles:
    reasoner: Understander
    generator: Generator


class Options(GraphOptions):
    n: int = 4


@node
async def rewrite(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Refine the prompt, as the benchmark asks for it."""
    instance = state["instance"]
    request = rewrite_request_of(instance)
    result = await rewrite_agent(runtime.context.reasoner, instance.text, request=request)
    return {"rewrite": result.prompt}


@node
async def derive(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Derive checks from the prompt alone."""
    return {"checks": await derive_checks(runtime.context.reasoner, state["instance"].text)}


def _draw_candidates(n: int) -> Any:
    @node
    async def draw_candidates(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
        """Draw n candidates with consecutive seeds, concurrently."""
        draws = [
            runtime.context.generator.generate(state["rewrite"], seed=state["seed"] + i)
            for i in range(n)
        ]
        return {"candidates": list(await asyncio.gather(*draws))}

    return draw_candidates


@node
async def select(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Keep the candidate that passes most checks (the first one on a tie)."""
    passed = []
    for image in state["candidates"]:
        verdicts = await verify(runtime.context.reasoner, image, state["checks"])
        passed.append(sum(v.passed for v in verdicts))
    best = max(range(len(passed)), key=lambda i: (passed[i], -i))
    return {"image": state["candidates"][best], "scores": passed}


@register_graph("best-of-n", axes=(Axis.UEG,))
def build(axis: Axis, options: Mapping[str, Any]) -> Strategy:
    """Build best-of-n (UEG only)."""
    parsed = parse_options("best-of-n", Options, options)
    builder = StateGraph(State, context_schema=Roles)
    builder.add_node("rewrite", rewrite)
    builder.add_node("derive", derive)
    builder.add_node("draw_candidates", _draw_candidates(parsed.n))
    builder.add_node("select", select)
    builder.add_edge(START, "rewrite")
    builder.add_edge(START, "derive")
    builder.add_edge(["rewrite", "derive"], "draw_candidates")
    builder.add_edge("draw_candidates", "select")
    builder.add_edge("select", END)
    return Strategy("best-of-n", axis, builder.compile(), Roles)
