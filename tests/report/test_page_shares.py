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
import time
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


def _damaged_copy(run_dir: Path, tmp_path: Path, statement: str) -> Path:
    """A copy of the run whose store `statement` (SQL) damaged."""
    damaged = tmp_path / "run"
    shutil.copytree(run_dir, damaged)
    db = sqlite3.connect(damaged / "run.db")
    db.execute(statement)
    db.commit()
    db.close()
    return damaged


def _html_command_in_a_fresh_process(
    run: Path, out: Path, *checks: str
) -> subprocess.CompletedProcess[str]:
    """`composer report RUN --format html --output OUT`, then `checks` (Python lines) however
    it ended; two children must have been forked."""
    return _in_a_fresh_process(
        "from composer.cli import main\n"
        f"sys.argv = ['composer', 'report', {str(run)!r}, '--format', 'html',"
        f" '--output', {str(out)!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    assert len(forked) == 2 and all(c is not None for c in forked), forked\n"
        + "".join(f"    {check}\n" for check in checks)
    )


def _written_in_a_fresh_process(
    run_dir: Path, tmp_path: Path, setup: str, *checks: str
) -> dict[Path, bytes]:
    """The files `html.write_html` writes into TMP/shared in a fresh process, after `setup`
    (Python lines: what the test patches) and before `checks`; the process must end well."""
    done = _in_a_fresh_process(
        "from composer.evaluation.store import RunStore\n"
        "from composer.report import html\n"
        + setup
        + f"html.write_html(RunStore({str(run_dir)!r}), Path({str(tmp_path / 'shared')!r}))\n"
        + "".join(f"{check}\n" for check in checks)
    )
    assert done.returncode == 0, done.stderr
    return _files(tmp_path / "shared")


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
    shared = _written_in_a_fresh_process(
        run_dir,
        tmp_path,
        "",
        "assert len(forked) == 2 and all(c is not None for c in forked), forked",
        "assert [c.exitcode for c in forked] == [0, 0]",
    )
    assert len([p for p in shared if p.parts[0] == "instances"]) == 40
    assert shared == _in_one_process(run_dir, tmp_path / "one")


def test_a_run_a_child_left_half_written_is_written_by_the_parent(
    run_dir: Path, tmp_path: Path
) -> None:
    # Each child, once the report may write, writes the first page of its first run cut
    # short, and is killed.
    shared = _written_in_a_fresh_process(
        run_dir,
        tmp_path,
        "import signal\n"
        "from composer.report import pages\n"
        "parent, real = os.getpid(), pages.PageWriter.write\n"
        "def killed(self, share):\n"
        "    if os.getpid() == parent:\n"
        "        return real(self, share)\n"
        "    name = pages.slug(self.instances[share.start].id) + '.html'\n"
        "    self.put(self.ctx.out / 'instances' / name, b'<!doctype')\n"
        "    self.put.__self__.write_when_open()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "pages.PageWriter.write = killed\n",
        "assert [c.exitcode for c in forked] == [-9, -9], forked",
    )
    assert shared == _in_one_process(run_dir, tmp_path / "one")


def test_a_row_a_child_cannot_read_stops_the_report_as_in_one_process(
    run_dir: Path, tmp_path: Path
) -> None:
    damaged = _damaged_copy(
        run_dir, tmp_path, "UPDATE calls SET request = '{not json' WHERE rowid = 2"
    )
    out = tmp_path / "h"
    done = _html_command_in_a_fresh_process(damaged, out)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is damaged" in lines[0] and "the calls row" in lines[0], lines
    alone = cli.invoke(app, ["report", str(damaged), "--format", "html", "--output", str(out)])
    assert alone.exit_code == 2 and alone.output.strip() == lines[0]


def test_pages_made_while_the_summary_is_computed_are_held_then_written(
    run_dir: Path, tmp_path: Path
) -> None:
    # The summary takes a second: the children make every page meanwhile, and hold them.
    held = tmp_path / "held"
    shared = _written_in_a_fresh_process(
        run_dir,
        tmp_path,
        "import time\n"
        "real_summarize, real_wait = html.summarize, page_shares._Held.write_when_open\n"
        "def slow(*a, **k):\n"
        "    time.sleep(1)\n"
        "    return real_summarize(*a, **k)\n"
        "def counted(self):\n"
        f"    with open({str(held)!r}, 'a') as f:\n"
        "        f.write(f'{len(self.pages or ())}\\n')\n"
        "    return real_wait(self)\n"
        "html.summarize, page_shares._Held.write_when_open = slow, counted\n",
        "assert [c.exitcode for c in forked] == [0, 0], forked",
    )
    assert sum(int(n) for n in held.read_text().split()) == 40  # all made before the summary
    assert shared == _in_one_process(run_dir, tmp_path / "one")


def test_a_child_that_holds_its_limit_waits_and_writes_the_same_pages(
    run_dir: Path, tmp_path: Path
) -> None:
    shared = _written_in_a_fresh_process(
        run_dir,
        tmp_path,
        "page_shares.HOLD_BYTES = 1  # each child waits at its first page\n",
        "assert [c.exitcode for c in forked] == [0, 0], forked",
    )
    assert shared == _in_one_process(run_dir, tmp_path / "one")


def test_damage_the_summary_finds_stops_the_children_before_they_write(
    run_dir: Path, tmp_path: Path
) -> None:
    damaged = _damaged_copy(run_dir, tmp_path, "UPDATE calls SET cost_usd = 'free' WHERE rowid = 1")
    out = tmp_path / "h"
    done = _html_command_in_a_fresh_process(
        damaged, out, "assert all(c.exitcode is not None for c in forked), forked"
    )
    assert done.returncode == 2, done.stderr
    assert "cost_usd 'free' is not a number" in done.stderr
    assert not out.exists()


def test_children_holding_pages_write_nothing_once_the_report_is_killed(
    run_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "h"
    done = _in_a_fresh_process(
        "import signal, time\n"
        "from composer.evaluation.store import RunStore\n"
        "from composer.report import html\n"
        "def killed(*a, **k):\n"
        "    print(' '.join(str(c.pid) for c in forked), flush=True)\n"
        "    time.sleep(0.5)  # the children make pages meanwhile\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "html.summarize = killed\n"
        f"html.write_html(RunStore({str(run_dir)!r}), Path({str(out)!r}))\n"
    )
    assert done.returncode == -9, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(p) for p in pids)
    assert not out.exists()


def _running(pid: int) -> bool:
    """Whether `pid` runs (a zombie no one has reaped yet does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_the_children_share_one_hold_whatever_the_cores(run_dir: Path, tmp_path: Path) -> None:
    done = _in_a_fresh_process(
        "from composer.evaluation.store import RunStore\n"
        "from composer.report.html import write_html\n"
        "most = []\n"
        "page_shares.start_forked = lambda target, args, name: most.append(args[-1])\n"
        f"write_html(RunStore({str(run_dir)!r}), Path({str(tmp_path / 'h')!r}))\n"
        "assert most == [page_shares.HOLD_BYTES // 2] * 2, most\n"
    )
    assert done.returncode == 0, done.stderr
