# composer from Python, as a notebook would use it (docs/api.md walks through it).
#
#   python examples/api_notebook.py [RUN_FOLDER]
#
# Each "# %%" block is a notebook cell. It runs offline in a few seconds: the synthetic suite,
# the symbolic models, and one strategy defined right here, in this process.

# %% A strategy defined in the notebook: the reasoner rewrites the prompt, the generator draws.
import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import composer
import composer.graphs as cg


class State(cg.UEGState, total=False):
    prompt: str


@dataclass(frozen=True)
class Roles:
    reasoner: cg.Understander
    generator: cg.Generator


async def plan(state: State, runtime: cg.Runtime[Roles]) -> dict:
    instance = state["instance"]
    request = cg.rewrite_request_of(instance)  # the benchmark's own wording of the rewrite
    reply = await cg.rewrite(runtime.context.reasoner, instance.text, request=request)
    return {"prompt": reply.prompt}


async def draw(state: State, runtime: cg.Runtime[Roles]) -> dict:
    return {"image": await runtime.context.generator.generate(state["prompt"], seed=state["seed"])}


@cg.register_graph("notebook-sketch", axes=(cg.Axis.UEG,))
def build(axis: cg.Axis, options: dict) -> cg.Strategy:
    graph = cg.StateGraph(State, context_schema=Roles).add_sequence([plan, draw])
    return cg.Strategy("notebook-sketch", axis, graph.add_edge(cg.START, "plan").compile(), Roles)


# %% The run file's tables, built in Python: the in-process graph against a built-in one.
SYMBOLIC = {"reasoner": "symbolic/reasoner", "generator": "symbolic/painter"}
config = composer.config(
    {
        "seeds": [0, 1],
        "benchmark": {"name": "synthetic", "n_per_category": 2},
        "judge": {"model": "symbolic/reasoner"},
        "systems": {
            "sketch": {"ueg": "notebook-sketch", "roles": SYMBOLIC},
            "decompose": {"ueg": "decompose-then-generate", "roles": SYMBOLIC},
            "painter": {"ueg": "direct", "roles": {"model": "symbolic/painter"}},
        },
    }
)
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "run"

# %% Develop on three instances first (the report says the run was filtered) ...
first = composer.run(config, out / "three", instances=["UEG-0", "UEG-1*"])
print(first.report()["selection"])

# %% ... then run them all. In a script this is plain synchronous code.
results = composer.run(config, out / "all")

# %% Results are typed objects and pandas DataFrames.
frame = results.frame()
print(frame.groupby("system")["correct"].mean().round(3).to_string())
failed = [o for o in results.outcomes() if o.status != "ok"]
print(f"{len(frame)} results, {len(failed)} not ok")

accuracy = results.report_frame()
print(accuracy[accuracy["scope"] == "UEG"][["system", "accuracy", "sd"]].to_string(index=False))

paired = results.paired_frame()
print(paired[paired["scope"] == "all"][["a", "b", "difference", "ci95_low", "ci95_high"]])

# %% Every step of one task: what each node asked and got.
for step in results.steps("sketch", "UEG-0"):
    print(f"{step.node:>6} {step.role:<9} {step.prompt[:50]!r} -> {step.reply[:40]!r}")


# %% In Jupyter an event loop is already running: `await composer.arun(...)` in a cell, or the
# plain `composer.run(...)`, which then runs in a worker thread. The same, outside Jupyter:
async def in_a_notebook() -> None:
    again = await composer.arun(config, out / "all")  # resumes: everything is done already
    assert again.frame().equals(frame)
    with composer.Run(config, out / "loop", systems=["sketch"]) as run:
        summary = run.run()  # synchronous call while this loop runs
    print(f"inside a running loop: {summary.tasks} tasks, {summary.calls_sent} calls sent")


asyncio.run(in_a_notebook())
print(f"run folders under {out}")
