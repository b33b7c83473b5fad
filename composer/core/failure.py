"""Where an instance failed: the graph, the node, the line and the traceback, kept with its result.

A bug in a strategy (a node that raises, a node that returns what the run store cannot keep, a
graph that never sets its output) fails that one instance; `Failure` is what the run store keeps
about it, and what `composer report` and the HTML instance page show.
"""

from __future__ import annotations

import sysconfig
import traceback
from pathlib import Path

from pydantic import BaseModel

_MACHINERY = ("langgraph", "langchain_core", "asyncio", "concurrent")
"""Packages whose frames say nothing about the strategy's own code: left out of a traceback."""

_LIBRARY_ROOTS = tuple(
    {str(Path(sysconfig.get_path(name)).resolve()) for name in ("stdlib", "purelib", "platlib")}
)
"""Where the standard library and installed packages live (an editable install lives elsewhere)."""

_COMPOSER_ROOT = str(Path(__file__).resolve().parents[1]) + "/"
"""The composer package's folder."""


class Failure(BaseModel):
    """Where and why one instance failed inside its graph.

    Example:
        >>> Failure(graph="mine.py:build", node="draw", error="ZeroDivisionError: division by zero")
        Failure(graph='mine.py:build', node='draw', error='ZeroDivisionError: division by zero', location='', traceback='')
    """  # noqa: E501 - a doctest line

    graph: str
    """The graph as the run file names it (`refine`, `my_strategy.py:build`)."""
    node: str = ""
    """The node that raised or returned the bad value; "" when no node is to blame (the graph
    returned without its output, or LangGraph itself stopped it)."""
    error: str
    """The exception type and message, or what was wrong with the value."""
    location: str = ""
    """`file.py:line` of the innermost frame outside installed libraries and the standard
    library (the strategy's own code, or composer's), where known."""
    traceback: str = ""
    """The traceback without LangGraph's and asyncio's frames; "" for a bad value."""

    def where(self) -> str:
        """The failure's place as an error message starts it: `graph 'g', node 'n'`."""
        place = f"graph {self.graph!r}"
        return f"{place}, node {self.node!r}" if self.node else place

    @classmethod
    def of_exception(cls, exc: BaseException, *, graph: str, node: str = "") -> Failure:
        """The failure `exc` describes, raised in `node` of `graph`."""
        frames = [
            frame
            for frame in traceback.extract_tb(exc.__traceback__)
            if not _is_machinery(frame.filename)
        ]
        own = [frame for frame in frames if not _is_library(frame.filename)] or frames
        # The strategy's own line, not composer's: a helper or a model call that raised on
        # what the node gave it is located at the node's call (composer's built-in graphs,
        # with no frame of the user's, are located in composer).
        own = [frame for frame in own if not _is_composer(frame.filename)] or own
        location = f"{Path(own[-1].filename).name}:{own[-1].lineno}" if own else ""
        text = "Traceback (most recent call last):\n" if frames else ""
        text += "".join(traceback.format_list(frames))
        text += "".join(traceback.format_exception_only(type(exc), exc))
        return cls(
            graph=graph,
            node=node,
            error=f"{type(exc).__name__}: {message_of(exc)}",
            location=location,
            traceback=text,
        )


def message_of(exc: BaseException) -> str:
    """`str(exc)`, or a stand-in when the exception's own `__str__` raises."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - any error of a broken __str__
        return f"<{type(exc).__name__}: its message could not be made>"


def _is_library(filename: str) -> bool:
    """Whether `filename` is the standard library's or an installed package's."""
    path = str(Path(filename).resolve())
    return any(path.startswith(root) for root in _LIBRARY_ROOTS)


def _is_composer(filename: str) -> bool:
    """Whether `filename` is composer's own code (an editable install is no library)."""
    return str(Path(filename).resolve()).startswith(_COMPOSER_ROOT)


def _is_machinery(filename: str) -> bool:
    parts = Path(filename).parts
    return any(name in parts for name in _MACHINERY) or filename.endswith(
        str(Path("composer", "graphs", "guard.py"))
    )
