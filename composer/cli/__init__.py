"""The `composer` command: parse arguments, build a config, call the library, print.

`base` holds the typer app and what the commands share; each command module registers its
commands on import, and `composer --help` lists them in import order (hence `isort: off`).
"""

from composer.cli.base import app

# isort: off
from composer.cli import run  # noqa: F401  (run, report)
from composer.cli import compare  # noqa: F401  (compare)
from composer.cli import commands  # noqa: F401  (export, list, graph, synth, demo)
# isort: on

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the console script."""
    app()
