"""refine: an agentic UEG loop that checks its own image and tries again while it fails.

    START -> rewrite --\
    START -> derive ----+-> draw -> verify -> (all pass or rounds spent) -> END
                            ^                     | otherwise
                            +------- revise <-----+

The reasoner rewrites the prompt and, in parallel, derives yes/no checks from the prompt alone
(never from the benchmark's checks); after each image it verifies the checks, and on a failure
revises the rewrite and the generator redraws with the next seed, at most `max_rounds` images.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import Field

from composer.agents.revise import revise as revise_agent
from composer.agents.rewrite import rewrite as rewrite_agent
from composer.agents.verify import derive_checks
from composer.agents.verify import verify as verify_agent
from composer.core.instance import Axis, Check
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
    """The loop's working set; `rewrite` is the step and `rounds` every attempt, for the report."""

    checks: tuple[Check, ...]
    round: int
    failures: list[dict[str, Any]]
    rounds: Annotated[list[dict[str, Any]], operator.add]


@dataclass(frozen=True)
class Roles:
    """The reasoner rewrites, derives checks, verifies and revises; the generator draws."""

    reasoner: Understander
    generator: Generator


class Options(GraphOptions):
    """Options of refine."""

    max_rounds: int = Field(default=3, ge=1)
    """Images drawn at most (the first one included)."""


@node
async def rewrite(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Refine the prompt with the paper's template."""
    instance = state["instance"]
    request = rewrite_request_of(instance)
    result = await rewrite_agent(runtime.context.reasoner, instance.text, request=request)
    return {REWRITE: result.prompt}


@node
async def derive(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Derive the checks an image must pass, from the prompt alone."""
    checks = await derive_checks(runtime.context.reasoner, state["instance"].text)
    return {"checks": checks}


@node
async def draw(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Draw the current rewrite; each round uses the next seed."""
    attempt = state.get("round", 0)
    image = await runtime.context.generator.generate(state["rewrite"], seed=state["seed"] + attempt)
    return {IMAGE: image, "round": attempt + 1}


@node
async def verify(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Put every derived check to the reasoner about the image."""
    verdicts = await verify_agent(runtime.context.reasoner, state["image"], state["checks"])
    failures = [v.model_dump() for v in verdicts if not v.passed]
    record = {"rewrite": state["rewrite"], "image": state["image"].uri, "failures": failures}
    return {"failures": failures, "rounds": [record]}


@node
async def revise(state: State, runtime: Runtime[Roles]) -> dict[str, Any]:
    """Rewrite again in the light of the failed checks."""
    from composer.agents.verify import Verdict

    failures = [Verdict.model_validate(f) for f in state["failures"]]
    result = await revise_agent(
        runtime.context.reasoner, state["instance"].text, state["rewrite"], failures
    )
    return {REWRITE: result.prompt}


def _route_after_verify(max_rounds: int) -> Any:
    def route_after_verify(state: State) -> str:
        """Stop when the image passes or the rounds are spent; otherwise revise."""
        if not state["failures"] or state.get("round", 0) >= max_rounds:
            return END
        return "revise"

    return route_after_verify


@register_graph("refine", axes=(Axis.UEG,))
def build(axis: Axis, options: Mapping[str, Any]) -> Strategy:
    """Build the bounded rewrite-draw-verify-revise loop."""
    parsed = parse_options("refine", Options, options)
    builder = StateGraph(State, context_schema=Roles)
    for step in (rewrite, derive, draw, verify, revise):
        builder.add_node(step.__name__, step)
    builder.add_edge(START, "rewrite")
    builder.add_edge(START, "derive")
    builder.add_edge(["rewrite", "derive"], "draw")
    builder.add_edge("draw", "verify")
    builder.add_conditional_edges("verify", _route_after_verify(parsed.max_rounds), ["revise", END])
    builder.add_edge("revise", "draw")
    return Strategy("refine", axis, builder.compile(), Roles)
