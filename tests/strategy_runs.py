"""The run file the strategy-failure tests share: a strategy of the test's own beside a built-in.

Two world-knowledge instances of the synthetic suite, judged symbolically; `mine` runs the
test's strategy file with the symbolic painter as its generator, and `builtin` runs
decompose-then-generate, which each test checks the failure left untouched.
"""

from __future__ import annotations

RUN_HEAD = """
seed = 0
{top}
[benchmark]
name = "synthetic"
n_per_category = 2
categories = ["world_knowledge"]
[judge]
model = "symbolic/reasoner"
"""
"""The benchmark and judge (`top`: run-file keys above them, such as a timeout)."""


def beside_builtin(graph: str, *, top: str = "") -> str:
    """The run file: `mine` binds `ueg = { graph = ... }` (`graph`: the inline table's
    contents, e.g. `graph = "mine.py:build", blocking = true`), beside `builtin`."""
    return RUN_HEAD.format(top=top) + (
        "[systems.mine]\n"
        f"ueg = {{ {graph} }}\n"
        'roles = { generator = "symbolic/painter" }\n'
        "[systems.builtin]\n"
        'ueg = "decompose-then-generate"\n'
        'roles = { reasoner = "symbolic/reasoner", generator = "symbolic/painter" }\n'
    )
