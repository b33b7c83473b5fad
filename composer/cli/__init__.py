"""The `composer` command: parse arguments, build a config, call the library, print.

`base` holds the typer app and what the commands share; each command module registers its
commands on import, and `composer --help` lists them in import order (hence `isort: off`).
"""

import atexit
import gc
import io
import os
import sys
import threading

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
        try:
            app()
        except OSError as exc:  # a file or folder the command could not write (or read)
            os_failure(exc)
    except SystemExit as end:
        _leave_blocked_threads(end.code)
        raise
    finally:
        # Everything the command made is written and closed by now. The interpreter's
        # teardown would still run the cyclic collector over every object left (a quarter of
        # a second after the demo: `perf` puts that teardown in `gc_collect_main`); frozen,
        # they are freed without being traversed. Nothing composer writes waits on a
        # collection (stores and files are closed where they are used).
        gc.freeze()


def _leave_blocked_threads(code: object) -> None:
    """Exit now with `code` if a thread would hold the exit: a node the run had to leave.

    A strategy's node that is a plain function runs in a thread, which cannot be stopped: one
    still blocked after Ctrl-C or past `task_timeout_s` (a `time.sleep`, a read that never
    returns) would keep the finished command from exiting, as the interpreter waits for every
    thread. The command's output is written and its stores closed by now; the exit handlers run
    (Ray's shutdown among them), and the process ends without waiting for that thread.
    """
    main_thread = threading.main_thread()
    if not any(
        t.is_alive() and not t.daemon and t is not main_thread for t in threading.enumerate()
    ):
        return
    if isinstance(code, str):
        print(code, file=sys.stderr)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


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
