"""The instance pages written across forked processes: the same bytes, nothing left unwritten.

Each report here is written in a fresh interpreter: the pages are shared out only where no
other thread runs, and the test process has threads of its own (other tests' executors). There
`page_shares` shares out even 40 instances, 4 pages a run, over three processes.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from mockbench import config_text, write_fixture
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.store import RunStore
from composer.report.html import write_html

cli = CliRunner()

SHARED = """
import os, sys
from pathlib import Path
from composer.report import page_shares
page_shares.FORK_FROM, page_shares.RUN, page_shares.PAGE_BATCH = 0, 4, 4
page_shares._usable_cores = lambda: 3
forked = []
start = page_shares.start_forked
page_shares.start_forked = lambda *a: forked.append(start(*a)) or forked[-1]
write = page_shares.PageShares.write
def children_first(self):  # the children take every run before this process takes one
    for child in self.children:
        child.join()
    write(self)
page_shares.PageShares.write = children_first
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shares")
    config = root / "c.toml"
    config.write_text(config_text(write_fixture(root / "data")))
    run = root / "run"
    result = cli.invoke(app, ["run", str(config), "--out", str(run), "--quiet"])
    assert result.exit_code == 1, result.output  # the fixture's scripted failure: incomplete
    return run


def _in_a_fresh_process(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SHARED + code], capture_output=True, text=True)


def _files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _in_one_process(run_dir: Path, out: Path) -> dict[Path, bytes]:
    store = RunStore(run_dir)  # this process has other threads: nothing is forked here
    try:
        write_html(store, out)
    finally:
        store.close()
    return _files(out)


def test_pages_written_by_children_are_those_one_process_writes(
    run_dir: Path, tmp_path: Path
) -> None:
    done = _in_a_fresh_process(
        "from composer.evaluation.store import RunStore\n"
        "from composer.report.html import write_html\n"
        f"write_html(RunStore({str(run_dir)!r}), Path({str(tmp_path / 'shared')!r}))\n"
        "assert len(forked) == 2 and all(c is not None for c in forked), forked\n"
        "assert [c.exitcode for c in forked] == [0, 0]\n"
    )
    assert done.returncode == 0, done.stderr
    shared = _files(tmp_path / "shared")
    assert len([p for p in shared if p.parts[0] == "instances"]) == 40
    assert shared == _in_one_process(run_dir, tmp_path / "one")


def test_a_run_a_child_left_half_written_is_written_by_the_parent(
    run_dir: Path, tmp_path: Path
) -> None:
    # Each child writes the first page of its first run cut short, and is killed.
    done = _in_a_fresh_process(
        "import signal\n"
        "from composer.evaluation.store import RunStore\n"
        "from composer.report import pages\n"
        "from composer.report.html import write_html\n"
        "parent, real = os.getpid(), pages.PageWriter.write\n"
        "def killed(self, share):\n"
        "    if os.getpid() == parent:\n"
        "        return real(self, share)\n"
        "    name = pages.slug(self.instances[share.start].id) + '.html'\n"
        "    (self.ctx.out / 'instances' / name).write_text('<!doctype')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "pages.PageWriter.write = killed\n"
        f"write_html(RunStore({str(run_dir)!r}), Path({str(tmp_path / 'shared')!r}))\n"
        "assert [c.exitcode for c in forked] == [-9, -9], forked\n"
    )
    assert done.returncode == 0, done.stderr
    assert _files(tmp_path / "shared") == _in_one_process(run_dir, tmp_path / "one")


def test_a_row_a_child_cannot_read_stops_the_report_as_in_one_process(
    run_dir: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "run"
    shutil.copytree(run_dir, damaged)
    db = sqlite3.connect(damaged / "run.db")
    db.execute("UPDATE calls SET request = '{not json' WHERE rowid = 2")
    db.commit()
    db.close()
    out = tmp_path / "h"
    done = _in_a_fresh_process(
        "from composer.cli import main\n"
        f"sys.argv = ['composer', 'report', {str(damaged)!r}, '--format', 'html',"
        f" '--output', {str(out)!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    assert len(forked) == 2 and all(c is not None for c in forked), forked\n"
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is damaged" in lines[0] and "the calls row" in lines[0], lines
    alone = cli.invoke(app, ["report", str(damaged), "--format", "html", "--output", str(out)])
    assert alone.exit_code == 2 and alone.output.strip() == lines[0]
