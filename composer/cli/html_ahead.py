"""The HTML report's writer, forked ahead of the summary it writes: its imports load meanwhile.

Writing the demo's HTML report in a child forked once the run was summarized took 0.4 s, of
which about 0.25 s were loading the report's modules and compiling its templates (jinja2, the
pages, the charts), after the run, where the command waits for it. `HtmlAhead.start()` forks the
writer earlier (the demo: at its start, while this process imports LangGraph and the second
core has little else to do); it loads what writing needs and waits. `write(run_dir, folder,
report)` sends it the summary and returns the wait, True once it wrote the report. A writer
sent nothing (the run failed, or the report is written elsewhere) ends without writing
anything, so a rejected command still writes nothing; one that fails leaves the report to the
caller, who writes it again and reports the error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, cast

from composer.core.fork import start_forked

if TYPE_CHECKING:
    from composer.core.instance import Parser
    from composer.report.model import Report


def write_html(
    run_dir: Path,
    folder: Path,
    parser: str | None = None,
    judge: str | None = None,
    report: Report | None = None,
) -> Path:
    """The run's HTML report written into `folder`, through a store opened here; its index.

    Every page of the store is checked while the report reads its rows (`check_pages_beside`),
    and before anything is written.
    """
    from composer.evaluation.store import RunStore
    from composer.report.html import write_html as write

    store = RunStore(run_dir, check_pages_beside=True)
    try:
        chosen = cast("Parser | None", parser)
        return write(store, folder, parser=chosen, judge=judge, report=report)
    finally:
        store.close()


class HtmlAhead:
    """A forked HTML writer that waits for its summary; see the module docstring.

    Example:
        >>> ahead = HtmlAhead.start()  # doctest: +SKIP
        >>> wrote = ahead.write(run_dir, run_dir / "report", report)  # doctest: +SKIP
        >>> wrote()  # doctest: +SKIP
        True
    """

    def __init__(self, child: BaseProcess, jobs: Connection) -> None:
        """Hold a started writer; use `start` rather than this."""
        self.child = child
        self._jobs = jobs

    @classmethod
    def start(cls) -> HtmlAhead | None:
        """Fork the writer; None where forking is not safe (`composer.core.fork`)."""
        receiving, sending = Pipe(duplex=False)
        child = start_forked(_serve, (receiving, sending), "composer-html")
        receiving.close()
        if child is None:
            sending.close()
            return None
        return cls(child, sending)

    def write(self, run_dir: Path, folder: Path, report: Report) -> Callable[[], bool]:
        """Send the writer its report; the returned call waits: whether it wrote the report."""
        try:
            self._jobs.send((run_dir, folder, report))
        except OSError:  # it has ended already
            pass
        self._jobs.close()

        def wrote() -> bool:
            self.child.join()
            return self.child.exitcode == 0

        return wrote

    def cancel(self) -> None:
        """Let the writer go without a report: it ends having written nothing.

        It is stopped rather than left to see the pipe close: processes forked after it (the
        run's worker, a run beside) hold the pipe's end too, until they end.
        """
        self._jobs.close()
        self.child.terminate()
        self.child.join()


def _serve(jobs: Connection, parents_end: Connection) -> None:
    """In the writer: load what writing needs, then write the report sent, if one is."""
    parents_end.close()
    try:
        _load()
        try:
            run_dir, folder, report = jobs.recv()
        except (EOFError, OSError):  # let go without a report: nothing is written
            return
        write_html(run_dir, folder, report=report)
    except BaseException:  # noqa: BLE001 - the caller writes it again and reports the error
        sys.exit(1)


def _load() -> None:
    """Import the report's modules and compile its templates."""
    import composer.report.html  # noqa: F401
    from composer.report.pages import environment

    templates = environment()
    for name in templates.list_templates():
        templates.get_template(name)
