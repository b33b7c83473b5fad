"""The `composer` command: parse arguments, build a config, call the library, print.

`base` holds the typer app and what the commands share; each command module registers its
commands on import, and `composer --help` lists them in import order (hence `isort: off`).
"""

import gc
import io
import sys

from composer.cli.base import app, os_failure

# isort: off
from composer.cli import run  # noqa: F401  (run, report)
from composer.cli import compare  # noqa: F401  (compare)
from composer.cli import commands  # noqa: F401  (export, list, graph, synth, demo)
from composer.cli import trace  # noqa: F401  (trace)
# isort: on

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the console script."""
    degrade_output()
    try:
        app()
    except OSError as exc:  # a file or folder the command could not write (or read): one line
        os_failure(exc)
    finally:
        # Everything the command made is written and closed by now. The interpreter's
        # teardown would still run the cyclic collector over every object left (a quarter of
        # a second after the demo: `perf` puts that teardown in `gc_collect_main`); frozen,
        # they are freed without being traversed. Nothing composer writes waits on a
        # collection (stores and files are closed where they are used).
        gc.freeze()


def degrade_output() -> None:
    r"""Let standard output and error show what their encoding cannot, rather than crash.

    Redirected on Windows, or with `PYTHONIOENCODING=cp1252`, the streams are not UTF-8: a
    non-Latin category name would raise `UnicodeEncodeError` in the middle of a report, and
    a complete run would end in exit 1. Characters the encoding lacks are written as
    backslash escapes (`\u6f22`) instead; a stream whose errors policy was set explicitly is
    left as it is.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")
