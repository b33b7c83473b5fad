"""Running one graph on one instance so that a bug in it fails that instance only, and says where.

`stream_strategy` streams the graph's tasks (LangGraph's `tasks` stream mode: each node's name with
what it returned or raised) and its state. A node that raises, a node that returns a value the
run store cannot keep (a PIL image, bytes, an object of its own, a NaN, a dict that contains
itself), and a graph that ends without the output its axis is scored on each become one
`GraphFailure` naming the graph and the node, with the traceback
(`composer.core.failure.Failure`). composer's own errors (a refusal, a model call that failed, a
reply an agent could not parse) pass through unchanged: the runner already records them.

A node that calls `sys.exit()` (or raises another `BaseException` that is not an `Exception`,
such as pytest's `fail()`) is such a bug too, but asyncio lets such an exception raised in a
task out of the event loop, ending every other instance with it: while `containing_exits` is
in force, each task of the loop turns one into `NodeExit`, an ordinary exception. Ctrl-C's
`KeyboardInterrupt` and a task's cancellation are left as they are: they stop the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from langgraph.errors import GraphRecursionError
from pydantic import BaseModel

from composer.core.errors import ComposerError
from composer.core.failure import Failure, message_of
from composer.core.images import ImageRef
from composer.core.instance import Axis
from composer.core.outputs import geu_output, ueg_output

_INPUTS = ("instance", "seed")
"""Keys the runner puts in; they are not stored with the output."""


class NodeExit(Exception):  # noqa: N818 - named for what the node did, as SystemExit is
    """A node called `sys.exit()` or raised a `BaseException` that stops no run: its bug.

    Not Ctrl-C's `KeyboardInterrupt` or a cancellation (`_STOPS`): those stop the run.
    """


_STOPS = (KeyboardInterrupt, asyncio.CancelledError, GeneratorExit)
"""BaseExceptions that stop the run (Ctrl-C, a cancelled task), not one instance."""


def _as_node_exit(exc: BaseException) -> NodeExit:
    if isinstance(exc, SystemExit):
        what = f"called sys.exit({exc.code!r})"
    else:
        what = f"raised {type(exc).__name__}({message_of(exc)!r}), a BaseException"
    return NodeExit(what).with_traceback(exc.__traceback__)


async def _contained(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        return await coro
    except (Exception, *_STOPS):
        raise
    except BaseException as exc:  # noqa: BLE001 - sys.exit() and the like: this task's bug
        raise _as_node_exit(exc) from None


_RUNS_NO_NODE = frozenset(
    {"AsyncCallbackManagerForChainRun.on_chain_end", "AsyncExitStack.__aexit__"}
)
"""The coroutines of tasks LangGraph starts that run no node (its callbacks' end, the closing of
its loop's resources), left unwrapped: four of the seven tasks of a two-node graph's run, each
wrapper 2.4 us. Every other coroutine is wrapped, so one that a new LangGraph runs nodes in is
too."""


@contextlib.contextmanager
def containing_exits() -> Iterator[None]:
    """While in force, a `SystemExit` raised in any task of the running loop is a `NodeExit`.

    asyncio re-raises a task's `SystemExit` out of the event loop (as it does Ctrl-C's
    `KeyboardInterrupt`, which is left as it is); wrapped, the task that raised it fails, and
    the graph around it fails its one instance.
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        runs = coro if getattr(coro, "__qualname__", None) in _RUNS_NO_NODE else _contained(coro)
        if previous is not None:
            task = previous(loop, runs, **kwargs)
        else:
            task = asyncio.Task(runs, loop=loop, **kwargs)
        if runs is not coro:
            # A task cancelled before its first step (Ctrl-C) never starts the wrapper, and so
            # never awaits `coro`: closed here, it is not reported as "never awaited" at exit.
            task.add_done_callback(lambda _: coro.close())
        return task

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        yield
    finally:
        loop.set_task_factory(previous)


class GraphFailure(ComposerError):
    """A graph failed on one instance because of its own code; `failure` says where."""

    def __init__(self, failure: Failure, what: str, fix: str) -> None:
        """Keep the failure with the message."""
        super().__init__(failure.where(), what, fix)
        self.failure = failure


async def stream_strategy(
    graph_name: str,
    axis: Axis,
    graph: Any,
    inputs: Mapping[str, Any],
    context: Any,
    *,
    timeout_s: float | None = None,
    recursion_limit: int | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Run a compiled graph, yielding its state after each step; see the module docstring.

    The last state yielded before an error is the graph's output so far. With `timeout_s`, a
    graph still running after that many seconds fails (`TaskTimeout`), naming the nodes it was
    running: an async node is cancelled; a plain function's thread cannot be stopped, so it is
    left to finish, its result unused. A graph that takes more steps than `recursion_limit`
    (None: LangGraph's own limit) fails (`StepLimit`), naming the nodes that ran most.

    Raises:
        GraphFailure: a node raised (not a `ComposerError`) or returned a value the run store
            cannot keep, the graph ended without its axis's output, it ran past `timeout_s`,
            or it took more steps than its limit.
        ComposerError: a node raised one of composer's own errors.
    """
    state: dict[str, Any] = dict(inputs)
    errors: dict[int, str] = {}
    running: dict[str, str] = {}  # task id -> node, for the tasks started and not yet ended
    ran: dict[str, int] = {}  # node -> the tasks of it that ended
    steps = -1  # the states streamed, less the first (the inputs)
    paused: Any = ()  # what interrupt() asked, once a node called it
    deadline = asyncio.timeout(timeout_s) if timeout_s is not None else None
    config = None if recursion_limit is None else {"recursion_limit": recursion_limit}
    try:
        async with deadline or _NO_DEADLINE:
            async for mode, chunk in graph.astream(
                dict(inputs), config, context=context, stream_mode=["tasks", "values"]
            ):
                if mode == "values":
                    if _PAUSED in chunk:  # a node called interrupt(); its result names it
                        paused = chunk[_PAUSED]
                        continue
                    state = chunk
                    steps += 1
                    yield state
                elif "error" in chunk:  # a task's result: its node's name with what it gave
                    running.pop(chunk["id"], None)
                    ran[chunk["name"]] = ran.get(chunk["name"], 0) + 1
                    if chunk["error"] is not None:
                        errors[id(chunk["error"])] = chunk["name"]
                    elif paused and chunk.get("interrupts"):
                        raise Paused(graph, graph_name, chunk["name"], chunk["interrupts"])
                    else:
                        _check_storable(graph, graph_name, chunk["name"], chunk.get("result"))
                elif timeout_s is not None:  # a task starts
                    running[chunk["id"]] = chunk["name"]
    except TimeoutError as exc:
        if deadline is None or not deadline.expired():
            raise _node_failure(graph_name, errors, exc) from exc
        raise TaskTimeout(graph, graph_name, tuple(running.values()), timeout_s) from None
    except GraphRecursionError:
        raise StepLimit(graph, graph_name, ran, recursion_limit, steps) from None
    except (ComposerError, *_STOPS):
        raise
    except BaseException as exc:  # noqa: BLE001 - sys.exit() and the like, run in this task
        raise _node_failure(graph_name, errors, exc) from exc
    if paused:  # no task result named the node (not so in LangGraph 1.2)
        raise Paused(graph, graph_name, "", paused)
    _check_output(graph_name, axis, state)


_PAUSED = "__interrupt__"
"""The key under which LangGraph streams what a node's `interrupt()` asked (private to it)."""

_NO_DEADLINE = contextlib.nullcontext()
"""`task_timeout_s` unset: no `asyncio.timeout` (its enter and exit, in Python, each task)."""


def _at_nodes(graph: Any, graph_name: str, nodes: Sequence[str], error: str) -> tuple[Failure, str]:
    """The failure `error` of `nodes`, located where there is one, and what a message adds.

    The failure names the nodes joined; the addition is " (its function is at file.py:12)",
    or "" where no one function is found.
    """
    unique = list(dict.fromkeys(nodes))
    location = node_location(graph, unique[0]) if len(unique) == 1 else ""
    failure = Failure(graph=graph_name, node=", ".join(unique), error=error, location=location)
    return failure, f" (its function is at {location})" if location else ""


class TaskTimeout(GraphFailure):
    """A graph still ran when the run's `task_timeout_s` was up: its instance fails."""

    def __init__(self, graph: Any, graph_name: str, nodes: tuple[str, ...], timeout_s: Any) -> None:
        """Name the nodes still running (the one's definition where there is one)."""
        still = " (still running)" if nodes else ""
        error = f"TaskTimeout: no output after task_timeout_s = {timeout_s:g} s{still}"
        failure, at = _at_nodes(graph, graph_name, nodes, error)
        super().__init__(
            failure,
            f"was still running when task_timeout_s = {timeout_s:g} s was up{at}."
            if nodes
            else f"had not ended when task_timeout_s = {timeout_s:g} s was up.",
            "Raise task_timeout_s in the run file if the graph is just slow, else fix the node; "
            "then rerun with --retry-failed (its finished model calls replay from the cache).",
        )


class Paused(GraphFailure):
    """A node called LangGraph's `interrupt()`: it waits for an answer no run can give."""

    def __init__(self, graph: Any, graph_name: str, node: str, interrupts: Any) -> None:
        """Name the node and what it asked (the first interrupt's value)."""
        first = interrupts[0] if interrupts else None
        asked = first.get("value") if isinstance(first, Mapping) else getattr(first, "value", "")
        text = repr(asked)
        shown = text if len(text) <= 80 else text[:77] + "..."
        error = f"Paused: interrupt({shown}) waits for an answer a run cannot give"
        failure, at = _at_nodes(graph, graph_name, (node,) if node else (), error)
        super().__init__(
            failure,
            f"called interrupt({shown}){at}: it waits for a person's answer, and LangGraph "
            "stops the graph there.",
            "A benchmark run has no one to answer: let the node decide on its own (or ask a "
            "model role), then rerun the system with --rerun NAME.",
        )


class StepLimit(GraphFailure):
    """A graph took more steps than its limit (a loop that never reaches END): it fails."""

    def __init__(
        self, graph: Any, graph_name: str, ran: Mapping[str, int], limit: int | None, steps: int
    ) -> None:
        """Name the nodes that ran most (the one's definition where there is one).

        `limit`: the run file's `recursion_limit` (None: LangGraph's own, after `steps`).
        """
        most = sorted(ran.items(), key=lambda item: -item[1])[:3]
        looped = [node for node, times in most if times > 1] or [node for node, _ in most]
        nodes = ", ".join(f"{node!r} {ran[node]} times" for node in looped)
        bound = f"recursion_limit = {limit}" if limit is not None else f"LangGraph's {steps}"
        error = f"StepLimit: no END after {bound} steps" + (f" (ran {nodes})" if nodes else "")
        failure, at = _at_nodes(graph, graph_name, looped, error)
        super().__init__(
            failure,
            f"did not reach END within {bound} steps"
            + (f": it ran {nodes}{at}." if nodes else "."),
            "A loop whose conditional edge never routes to END runs until this limit: make it "
            "end (route to END once done, or count its rounds in the state). If the graph just "
            "takes that many steps, set recursion_limit in the run file (the most steps an "
            "instance's graph may take). Then rerun the system with --rerun NAME (after "
            "raising the limit alone, the failed instances with --retry-failed).",
        )


def _node_failure(graph_name: str, errors: Mapping[int, str], exc: BaseException) -> GraphFailure:
    """The failure of a node that raised `exc` (`errors`: each raised error's node)."""
    node = errors.get(id(exc), next(iter(errors.values())) if len(errors) == 1 else "")
    if not isinstance(exc, Exception):
        exc = _as_node_exit(exc)
    failure = Failure.of_exception(exc, graph=graph_name, node=node)
    at = f" at {failure.location}" if failure.location else ""
    return GraphFailure(
        failure,
        f"raised {failure.error}{at}.",
        "Fix the node, then rerun the system with --rerun NAME (a changed strategy file is a "
        "changed system; its unchanged model calls replay from the cache); the traceback is "
        "stored with the result (composer report RUN --format jsonl, or the HTML instance "
        "page).",
    )


def _check_output(graph_name: str, axis: Axis, state: Mapping[str, Any]) -> None:
    try:
        if axis is Axis.GEU:
            geu_output(state, where=f"graph {graph_name!r}")
        else:
            ueg_output(state, where=f"graph {graph_name!r}")
    except ComposerError as exc:
        failure = Failure(graph=graph_name, error=f"{exc.what} {exc.fix}".strip())
        raise GraphFailure(failure, exc.what, exc.fix) from None


def node_location(graph: Any, node: str) -> str:
    """`file.py:line` where `node`'s function of the compiled `graph` is defined, or ""."""
    try:
        runnable = graph.builder.nodes[node].runnable
        fn = inspect.unwrap(getattr(runnable, "afunc", None) or runnable.func)
        code = fn.__code__
    except (AttributeError, KeyError, TypeError, ValueError):  # not a plain function
        return ""
    return f"{Path(code.co_filename).name}:{code.co_firstlineno}"


def _check_storable(graph: Any, graph_name: str, node: str, update: Any) -> None:
    """Raise `GraphFailure` if `update` holds a value the run store cannot keep."""
    if not isinstance(update, Mapping):
        return
    for key, value in update.items():
        if key in _INPUTS:
            continue
        found = _unstorable(value, repr(str(key)), ())
        if found is None:
            continue
        path, bad = found
        kind = _kind(bad)
        what = (
            f"returned {kind} under {path}, which the run store cannot keep (it keeps text, "
            "finite numbers, booleans, None, lists, dicts, pydantic models and ImageRefs)."
        )
        fix = (
            "Return the ImageRef a model gave (generate and edit return one), never pixels."
            if kind.startswith("PIL.")
            else "Return plain data."
        )
        where = node_location(graph, node)
        failure = Failure(graph=graph_name, node=node, error=f"{what} {fix}", location=where)
        raise GraphFailure(failure, what, fix)


def stored_output(
    graph_name: str, state: Mapping[str, Any]
) -> tuple[dict[str, Any], GraphFailure | None]:
    """`state` as the run store keeps it, and the failure of a graph whose state it cannot keep.

    The inputs are left out, image references become their uris and pydantic models dicts
    (`composer.evaluation.plan.jsonable`); a part the store cannot keep becomes a line naming
    its type. Each node's return is checked as it ends (`stream_strategy`), but what no node
    returned can still be there: a reducer's result (a set), a value a node changed in place.
    One walk: the failure's path is looked for only once something was found.
    """
    found: list[Any] = []
    output = {str(k): _stored(v, (), found) for k, v in state.items() if k not in _INPUTS}
    if not found:
        return output, None
    located = (
        _unstorable(value, repr(str(key)), ()) for key, value in state.items() if key not in _INPUTS
    )
    path, bad = next((place for place in located if place is not None), ("its state", found[0]))
    what = (
        f"ended with {_kind(bad)} under {path} in its state, which the run store cannot keep; "
        "no node returned it, so a reducer made it or a node changed the state in place."
    )
    fix = (
        "Make reducers return plain data (a list, not a set) and have nodes return their "
        "changes instead of changing the state; then rerun the system with --rerun NAME."
    )
    return output, GraphFailure(Failure(graph=graph_name, error=f"{what} {fix}"), what, fix)


def _stored(value: Any, within: tuple[int, ...], found: list[Any]) -> Any:
    """`value` as the store keeps it, each part it cannot keep named instead (and in `found`).

    `within`: the ids of the lists and dicts `value` lies in; one met again contains itself.
    """
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, ImageRef):
        return value.uri
    if isinstance(value, float):
        if math.isfinite(value):
            return value
    elif isinstance(value, BaseModel):
        return _stored(value.model_dump(), within, found)
    elif isinstance(value, Mapping | list | tuple) and id(value) not in within:
        inner = (*within, id(value))
        if isinstance(value, Mapping):
            if not all(isinstance(k, str | int | float | bool) for k in value):
                found.append(value)
            return {str(k): _stored(v, inner, found) for k, v in value.items()}
        return [_stored(v, inner, found) for v in value]
    found.append(value)
    return f"<{_kind(value)}: not stored>"


def _kind(bad: Any) -> str:
    """What an unstorable value is, as a failure names it."""
    if isinstance(bad, float):
        return f"the number {bad!r}"
    kind = f"{type(bad).__module__}.{type(bad).__qualname__}"
    if isinstance(bad, Mapping | list | tuple):
        kind += " that contains itself"
    return kind


def _unstorable(value: Any, path: str, within: tuple[int, ...]) -> tuple[str, Any] | None:
    """The path and value of the first part of `value` that is not plain data, or None.

    `within`: the ids of the lists and dicts `value` lies in; one met again contains itself.
    A float that is not finite has no JSON form.
    """
    if value is None or isinstance(value, str | int | bool | ImageRef):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    if isinstance(value, BaseModel):
        return _unstorable(value.model_dump(), path, within)
    if isinstance(value, Mapping | list | tuple):
        if id(value) in within:
            return path, value
        within = (*within, id(value))
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool):
                return f"{path} (a key)", key
            found = _unstorable(item, f"{path}[{str(key)!r}]", within)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _unstorable(item, f"{path}[{i}]", within)
            if found is not None:
                return found
        return None
    return path, value
