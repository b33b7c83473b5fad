"""The graph registry: strategies by kebab-case name, built per axis into a compiled LangGraph.

A strategy module registers a `build(axis, options) -> Strategy` function with
`@register_graph(name, axes=...)`, the one way to declare the axes it serves. The `Strategy`
holds the compiled graph and its `Roles` dataclass, whose protocol-typed fields are the roles a
system must bind. A strategy can also come from a user's file, as `path/to/strategy.py:build`.
What a graph returns per axis is declared once (`UEGOutput`, `GEUOutput`, in
`composer.core.outputs` with the step outputs a report shows) and checked when the strategy is
built.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import importlib.util
import sys
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from composer.core.callsite import CallSite, current_site, name_nodes_with, site_of_call
from composer.core.errors import ComposerError, ConfigError, config_error, shown_argument
from composer.core.failure import Failure, message_of
from composer.core.images import ImageRef
from composer.core.instance import EDIT, REWRITE, STEP, Axis, Instance
from composer.core.outputs import GEUOutput, UEGOutput
from composer.core.registry import BUILTIN_CODE, Registry
from composer.specialists.base import PROTOCOL_CAPABILITY, Capability


@dataclass(frozen=True)
class Strategy:
    """A graph built for one axis, with the roles it needs."""

    name: str
    axis: Axis
    graph: Any
    """The compiled LangGraph (`CompiledStateGraph`); invoked with `context=Roles(...)`."""
    roles: type
    """A frozen dataclass; each field is a role typed with the protocol it needs."""

    def required_roles(self) -> dict[str, Capability]:
        """Role name to the capability it needs."""
        hints = typing.get_type_hints(self.roles)
        return {f.name: PROTOCOL_CAPABILITY[hints[f.name]] for f in dataclasses.fields(self.roles)}

    def mermaid(self) -> str:
        """The graph drawn as a Mermaid flowchart."""
        return str(self.graph.get_graph().draw_mermaid())


Build = Callable[[Axis, Mapping[str, Any]], Strategy]


OUTPUTS: dict[Axis, type] = {Axis.UEG: UEGOutput, Axis.GEU: GEUOutput}
"""The output each axis is scored on; `build_strategy` checks every strategy against it."""


class UEGState(TypedDict, total=False):
    """A base for a UEG graph's `State`: the runner's inputs and the output; add your own keys."""

    instance: Instance
    seed: int
    image: ImageRef


class GEUState(TypedDict, total=False):
    """A base for a GEU graph's `State`: the runner's inputs and the output; add your own keys."""

    instance: Instance
    seed: int
    response: str


@dataclass(frozen=True)
class GraphEntry:
    """A registered strategy: its name, the axes it serves, and its build function."""

    name: str
    axes: frozenset[Axis]
    build: Build
    description: str
    code: str = BUILTIN_CODE
    """What its code is, stored with every system that uses it (`composer.core.registry`)."""


_BUILTINS = {
    "direct": "composer.graphs.direct:build",
    "decompose-then-generate": "composer.graphs.decompose_then_generate:build",
    "generate-then-reason": "composer.graphs.generate_then_reason:build",
    "refine": "composer.graphs.refine:build",
    "interleaved": "composer.graphs.interleaved:build",
    "text-only": "composer.graphs.interleaved:build_text_only",
}
_BUILTIN_MODULES = tuple(target.partition(":")[0] for target in _BUILTINS.values())

GRAPHS: Registry[Build] = Registry(
    "graph",
    group="composer.graphs",
    where="graph {!r}",
    define="build(axis, options) -> Strategy",
    hint="path/to/strategy.py:build",
    builtins=_BUILTINS,
)
"""The strategies: composer's, a package's (entry points in `composer.graphs`), in-process ones."""

_DECLARED: dict[Build, GraphEntry] = {}
"""What `@register_graph` declared of each build function (a file's too: it is bound by path)."""


def register_graph(
    name: str, *, axes: tuple[Axis, ...], description: str | None = None
) -> Callable[[Build], Build]:
    """Register a strategy's `build` under a kebab-case name.

    `composer list graphs` describes it by `description`, else by the first line of its
    module's docstring (a module that registers two strategies gives each its own).

    Example:
        >>> @register_graph("sketch-first", axes=(Axis.UEG,))
        ... def build(axis, options):
        ...     ...
    """

    def decorate(build: Build) -> Build:
        doc = (sys.modules[build.__module__].__doc__ or "").strip().splitlines()
        said = description if description is not None else doc[0] if doc else ""
        _DECLARED[build] = GraphEntry(name, frozenset(axes), build, said)
        GRAPHS.register(name, build)
        return build

    return decorate


def graphs() -> dict[str, GraphEntry]:
    """All registered strategies (each one's module imported: `graph_listing` imports none)."""
    return {name: get_graph(name) for name in GRAPHS.names()}


@dataclass(frozen=True)
class GraphListing:
    """What `composer list graphs` shows of a strategy: no build function, nothing imported."""

    name: str
    axes: frozenset[Axis]
    description: str


def graph_listing() -> dict[str, GraphListing]:
    """Every registered strategy's name, axes and description, without building or importing it.

    A built-in module is read, not imported: its `@register_graph(name, axes=...)` decorator and
    the first line of its docstring are all a listing needs, and importing it would import
    LangGraph (over a second of the command's time). Strategies registered in-process are
    listed from the registry.
    """
    listed = {
        name: GraphListing(name, _DECLARED[build].axes, _DECLARED[build].description)
        for name, build in GRAPHS.registered().items()
        if not isinstance(build, str) and build in _DECLARED
    }
    for module in _BUILTIN_MODULES:
        for entry in _declared(module):
            listed.setdefault(entry.name, entry)
    for name, target in GRAPHS.targets().items():  # a plug-in's: read too, where it can be
        if name not in listed:
            try:
                listed[name] = _plugin_listing(name, target.partition(":")[0])
            except ComposerError as exc:  # one broken package hides no other entry
                listed[name] = GraphListing(name, frozenset(), f"unavailable: {exc.what}")
    return listed


def _plugin_listing(name: str, module: str) -> GraphListing:
    """A plug-in's listing, read from its module where it registers `name`, else imported."""
    try:
        spec = importlib.util.find_spec(module)  # imports its parent packages only
    except ModuleNotFoundError:
        spec = None  # get_graph says what is missing
    if spec is not None and spec.origin is not None and spec.origin.endswith(".py"):
        for entry in _declared(module):
            if entry.name == name:
                return entry
    found = get_graph(name)
    return GraphListing(name, found.axes, found.description)


def _declared(module: str) -> list[GraphListing]:
    """The `@register_graph` declarations in `module`'s source, read with `ast`."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    doc = (ast.get_docstring(tree) or "").strip().splitlines()
    found = []
    for node in ast.walk(tree):
        for decorator in getattr(node, "decorator_list", []):
            call = decorator if isinstance(decorator, ast.Call) else None
            func = getattr(call, "func", None)  # register_graph, or cg.register_graph
            if call is None or getattr(func, "id", getattr(func, "attr", None)) != "register_graph":
                continue
            axes = next(k.value for k in call.keywords if k.arg == "axes")
            names = [getattr(e, "attr", "") for e in getattr(axes, "elts", [])]
            said = next((k.value for k in call.keywords if k.arg == "description"), None)
            found.append(
                GraphListing(
                    ast.literal_eval(call.args[0]),
                    frozenset(Axis(n) for n in names),
                    ast.literal_eval(said) if said is not None else doc[0] if doc else "",
                )
            )
    return found


def get_graph(name: str, *, base_dir: Path | None = None) -> GraphEntry:
    """The strategy registered as `name`, or loaded from `path/to/strategy.py:build`.

    Its `code` is the registry's digest: `builtin` for composer's own strategies, the file's
    sha256 for a file, the source's for one registered in-process or by a package.
    """
    found = GRAPHS.resolve(name, base_dir=base_dir)
    entry = _DECLARED.get(found.value)
    if entry is None:
        attr = getattr(found.value, "__name__", name)
        raise ConfigError(
            f"graph {name!r}",
            f"{attr}() does not say which axes it serves.",
            'Decorate it: @register_graph("my-strategy", axes=(Axis.UEG,)) (from composer.graphs '
            "import Axis, register_graph).",
        )
    if entry.name == name and entry.code == found.code:
        return entry
    return dataclasses.replace(entry, name=name, code=found.code)


def build_strategy(
    name: str, axis: Axis, options: Mapping[str, Any], *, base_dir: Path | None = None
) -> Strategy:
    """Build the strategy `name` for `axis`, checking that it serves that axis."""
    entry = get_graph(name, base_dir=base_dir)
    if axis not in entry.axes:
        serves = ", ".join(sorted(a.value for a in entry.axes))
        raise ConfigError(
            f"graph {name!r}",
            f"does not run the {axis.value} axis (it serves {serves}).",
            f"Bind it as {'ueg' if Axis.UEG in entry.axes else 'geu'} = {name!r}, "
            "or pick another graph.",
        )
    try:
        strategy = entry.build(axis, options)
    except (ComposerError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - a strategy's own bug (sys.exit() too): one line
        failure = Failure.of_exception(exc, graph=name)
        at = f" at {failure.location}" if failure.location else ""
        raise ConfigError(
            f"graph {name!r}",
            f"build() raised {failure.error}{at}.",
            "Fix the strategy's build() (a graph LangGraph cannot compile raises here too), "
            "then run again.",
        ) from None
    if not isinstance(strategy, Strategy):
        raise ConfigError(
            f"graph {name!r}",
            "build() did not return a Strategy.",
            "Return Strategy(name, axis, graph, roles).",
        )
    _check_roles(name, axis, strategy)
    _check_output(name, axis, strategy.graph)
    return strategy


def _check_roles(name: str, axis: Axis, strategy: Strategy) -> None:
    """Raise `ConfigError` unless `strategy` is for `axis` and its roles are model protocols.

    Binding reads the roles (`Strategy.required_roles`); a roles class that is not a
    dataclass, or a role typed `str`, failed there with a bare `TypeError` or `KeyError`.
    """
    where = f"graph {name!r}"
    if strategy.axis != axis:
        raise ConfigError(
            where,
            f"build() returned a Strategy for {strategy.axis!s} when asked for {axis.value}.",
            "Pass on the axis build() is given: Strategy(name, axis, graph, Roles).",
        )
    roles = strategy.roles
    fix = (
        "Declare the roles as a frozen dataclass whose fields are typed Understander, "
        "Generator or Editor (from composer.graphs), e.g. `reasoner: cg.Understander`."
    )
    if not (isinstance(roles, type) and dataclasses.is_dataclass(roles)):
        what = (
            f"the class {roles.__name__}, which is not a dataclass"
            if isinstance(roles, type)
            else f"{shown_argument(roles)}, not a dataclass"
        )
        raise ConfigError(where, f"declares its roles as {what}.", fix)
    try:
        hints = typing.get_type_hints(roles)
    except Exception as exc:  # noqa: BLE001 - an annotation that names nothing: one line
        raise ConfigError(
            where, f"declares roles whose types cannot be read ({message_of(exc)}).", fix
        ) from None
    for field in dataclasses.fields(roles):
        if hints.get(field.name) not in PROTOCOL_CAPABILITY:
            shown = getattr(hints.get(field.name), "__name__", repr(hints.get(field.name)))
            raise ConfigError(
                where, f"declares the role {field.name!r} as {shown}, not a model protocol.", fix
            )


def _check_output(name: str, axis: Axis, graph: Any) -> None:
    """Raise `ConfigError` unless `graph` returns the keys `OUTPUTS[axis]` declares."""
    channels = getattr(graph, "output_channels", None)
    if channels is None:
        raise ConfigError(
            f"graph {name!r}",
            f"built a {type(graph).__name__}, not a compiled LangGraph.",
            "Return Strategy(name, axis, builder.compile(), Roles).",
        )
    returned = {channels} if isinstance(channels, str) else set(channels)
    try:  # the state's own annotations, where they resolve
        declared = typing.get_type_hints(graph.builder.output_schema)
    except Exception:  # noqa: BLE001 - a schema we cannot read is checked by key only
        declared = {}
    for key, wanted in typing.get_type_hints(OUTPUTS[axis]).items():
        found = declared.get(key, wanted)
        if key in returned and found is wanted:
            continue
        shown = getattr(found, "__name__", str(found))
        what = "does not return" if key not in returned else f"declares {key!r} as {shown}, not"
        raise ConfigError(
            f"graph {name!r} ({axis.value})",
            f"{what} `{key}: {wanted.__name__}`, which the {axis.value} axis is scored on.",
            f"Declare `{key}: {wanted.__name__}` in the graph's State and set it in the last node.",
        )


OptionsT = TypeVar("OptionsT", bound=BaseModel)


class GraphOptions(BaseModel):
    """Base of a strategy's options: unknown keys are configuration errors.

    Validation is strict (pydantic's strict mode): `max_rounds = "3"` is an error, not a 3. A
    list-valued option that should become a tuple needs `Field(strict=False)`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def parse_options(graph: str, model: type[OptionsT], options: Mapping[str, Any]) -> OptionsT:
    """Validate a strategy's options with an error that names the graph and the key."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        known = f"Known options: {', '.join(model.model_fields) or 'none'}."
        raise config_error(f"graph {graph!r}", exc, known, noun="option") from None


NodeFn = Callable[..., Awaitable[dict[str, Any]]]


def node(fn: NodeFn) -> NodeFn:
    """Record the calls a node function makes under the function's name.

    Optional: the calls of a node without it are recorded under the name the node was added
    with (`graph_node`).
    """

    @functools.wraps(fn)
    async def traced(state: Any, runtime: Any) -> dict[str, Any]:
        site = current_site.get()
        token = current_site.set(CallSite(site.system, site.instance, fn.__name__, site.tally))
        try:
            return await fn(state, runtime)
        finally:
            current_site.reset(token)

    return traced


def call_site() -> CallSite:
    """The current call site, its node named by LangGraph when no `@node` named it.

    The call layer records every call under it (`composer.core.callsite.site_of_call`).
    """
    return site_of_call()


def graph_node() -> str:
    """The name of the LangGraph node running now, or "" outside a graph."""
    from langgraph.config import get_config

    try:
        metadata = get_config().get("metadata") or {}
    except RuntimeError:  # not inside a runnable
        return ""
    return str(metadata.get("langgraph_node", ""))


def rewrite_request_of(instance: Instance, use_step: bool = True) -> str | None:
    """The benchmark's request to rewrite `instance`'s prompt before drawing, or None.

    With `use_step`, the benchmark's own ready step request (`STEP`, RealUnify's `new_prompt`)
    comes first; then its rewrite template filled with the prompt (`REWRITE`). None lets the
    rewrite agent use composer's own wording.
    """
    return (instance.request(STEP) if use_step else None) or instance.request(REWRITE)


def edit_request_of(instance: Instance) -> str:
    """The benchmark's request to edit `instance`'s images before answering.

    Raises:
        ConfigError: the benchmark words no edit for this instance (that instance fails, the
            run goes on).
    """
    request = instance.request(EDIT)
    if request is None:
        raise ConfigError(
            f"instance {instance.id!r}",
            f"has no edit request from its benchmark ({instance.benchmark!r}).",
            "Bind a graph that does not edit for this benchmark.",
        )
    return request


name_nodes_with(graph_node)
