"""What a strategy author meets: one import, axes declared one way, outputs checked at build."""

import asyncio
import textwrap
from pathlib import Path

import pytest

import composer.graphs as cg
from composer.core.errors import ConfigError
from composer.graphs.base import build_strategy, get_graph, graph_node, graphs

HEAD = "from dataclasses import dataclass\nimport composer.graphs as cg\n"


def write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "strategy.py"
    path.write_text(HEAD + textwrap.dedent(body))
    return f"{path}:build"


def test_one_import_gives_the_whole_surface() -> None:
    for name in cg.__all__:
        assert getattr(cg, name) is not None, name


def test_a_file_without_axes_is_a_config_error(tmp_path: Path) -> None:
    ref = write(
        tmp_path,
        """
        def build(axis, options):
            raise AssertionError("never built")
        """,
    )
    with pytest.raises(ConfigError, match=r"does not say which axes.*@register_graph"):
        get_graph(ref)


def test_a_file_registers_its_axes_without_replacing_a_builtin(tmp_path: Path) -> None:
    builtin = graphs()["direct"]
    ref = write(
        tmp_path,
        """
        class State(cg.UEGState, total=False):
            pass

        @dataclass(frozen=True)
        class Roles:
            model: cg.Generator

        async def draw(state, runtime):
            return {"image": await runtime.context.model.generate("x", seed=state["seed"])}

        @cg.register_graph("direct", axes=(cg.Axis.UEG,))
        def build(axis, options):
            graph = cg.StateGraph(State, context_schema=Roles).add_node(draw)
            return cg.Strategy("mine", axis, graph.add_edge(cg.START, "draw").compile(), Roles)
        """,
    )
    entry = get_graph(ref)
    assert entry.axes == {cg.Axis.UEG} and entry.name == ref
    assert graphs()["direct"] is builtin
    with pytest.raises(ConfigError, match="does not run the GEU axis"):
        build_strategy(ref, cg.Axis.GEU, {})
    assert build_strategy(ref, cg.Axis.UEG, {}).name == "mine"


def test_a_graph_without_the_axis_output_is_refused_when_built(tmp_path: Path) -> None:
    ref = write(
        tmp_path,
        """
        from typing import TypedDict

        class State(TypedDict, total=False):
            instance: cg.Instance
            seed: int
            picture: cg.ImageRef

        @dataclass(frozen=True)
        class Roles:
            model: cg.Generator

        async def draw(state, runtime):
            return {}

        @cg.register_graph("no-image", axes=(cg.Axis.UEG,))
        def build(axis, options):
            graph = cg.StateGraph(State, context_schema=Roles).add_node(draw)
            return cg.Strategy("no-image", axis, graph.add_edge(cg.START, "draw").compile(), Roles)
        """,
    )
    with pytest.raises(ConfigError, match=r"\(UEG\): does not return `image: ImageRef`"):
        build_strategy(ref, cg.Axis.UEG, {})


def test_a_wrongly_typed_output_is_refused_when_built(tmp_path: Path) -> None:
    ref = write(
        tmp_path,
        """
        from typing import TypedDict

        class State(TypedDict, total=False):
            instance: cg.Instance
            response: int

        @dataclass(frozen=True)
        class Roles:
            model: cg.Understander

        async def answer(state, runtime):
            return {}

        @cg.register_graph("bad-geu", axes=(cg.Axis.GEU,))
        def build(axis, options):
            graph = cg.StateGraph(State, context_schema=Roles).add_node(answer)
            return cg.Strategy("bad-geu", axis, graph.add_edge(cg.START, "answer").compile(), Roles)
        """,
    )
    with pytest.raises(ConfigError, match="declares 'response' as int, not `response: str`"):
        build_strategy(ref, cg.Axis.GEU, {})


def test_a_node_without_the_decorator_is_known_by_its_graph_name() -> None:
    seen: list[str] = []

    class State(cg.UEGState, total=False):
        pass

    async def step(state: State) -> dict:
        seen.append(graph_node())
        return {}

    graph = cg.StateGraph(State).add_node("sketch", step).add_edge(cg.START, "sketch").compile()
    asyncio.run(graph.ainvoke({"seed": 0}))
    assert seen == ["sketch"]
    assert graph_node() == ""  # outside a graph
