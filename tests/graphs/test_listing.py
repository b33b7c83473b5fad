"""`composer list graphs` reads the built-in strategies without importing them."""

from __future__ import annotations

import subprocess
import sys

from composer.graphs.base import graph_listing, graphs


def test_listing_says_what_the_registry_says() -> None:
    listed = graph_listing()
    registered = graphs()
    assert set(listed) == set(registered)
    for name, entry in registered.items():
        assert (listed[name].axes, listed[name].description) == (entry.axes, entry.description)


def test_listing_imports_no_graph_and_no_langgraph() -> None:
    probe = (
        "import sys; from typer.testing import CliRunner; import composer.cli.commands; "
        "from composer.cli.base import app; "
        "result = CliRunner().invoke(app, ['list', 'graphs']); "
        "assert result.exit_code == 0 and 'decompose-then-generate' in result.output; "
        "print(sorted(m for m in sys.modules if m.startswith(('langgraph', 'composer.graphs.'))))"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "['composer.graphs.base']"


def test_each_strategy_of_a_module_has_its_own_description() -> None:
    """interleaved and text-only share a module: text-only says what it leaves out (it read
    as interleaved's, word for word)."""
    listed = graph_listing()
    assert listed["text-only"].description != listed["interleaved"].description
    assert "without its image calls" in listed["text-only"].description
