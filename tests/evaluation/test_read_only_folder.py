"""A run folder that cannot be written: one line and exit 2, never a traceback (issue 25, class 15).

`composer run` takes the folder's writer lock first, and the lock writes a note; on a read-only
folder (EROFS, no permission) that write raised `OSError` through the whole CLI. The folder is
left as it was. As root, permissions do not stop a write, so the chmod cases skip there; the
note's path taken by a folder makes the same write fail for anyone.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from realunify_fixture import RUN_SYSTEMS, config, write_realunify
from typer.testing import CliRunner

from composer.cli import app
from composer.evaluation.lock import WRITER_NOTE

cli = CliRunner()


def _run_file(tmp: Path) -> Path:
    run_file = tmp / "run.toml"
    run_file.write_text(config(write_realunify(tmp / "RealUnify"), RUN_SYSTEMS))
    return run_file


def _tree(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


def _one_line_exit_2(args: list[str]) -> str:
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert "cannot be written" in result.output, result.output
    return result.output


@pytest.fixture
def read_only() -> Iterator[list[Path]]:
    """Folders made read-only by a test, made writable again after it."""
    folders: list[Path] = []
    yield folders
    for folder in folders:
        folder.chmod(stat.S_IRWXU)


def _make_read_only(folder: Path, folders: list[Path]) -> None:
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    folders.append(folder)
    if os.access(folder, os.W_OK):  # root writes anyway
        pytest.skip("permissions do not stop this user from writing")


def test_a_lock_that_cannot_be_written_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    run_file = _run_file(tmp_path)
    out = tmp_path / "out"
    assert cli.invoke(app, ["run", str(run_file), "--out", str(out), "--quiet"]).exit_code in (0, 1)
    (out / WRITER_NOTE).mkdir()  # the lock's note cannot be written: EISDIR, as EROFS would
    before = _tree(out)
    output = _one_line_exit_2(["run", str(run_file), "--out", str(out), "--quiet"])
    assert f"run folder {out}" in output and "another --out" in output
    assert _tree(out) == before


def test_a_read_only_run_folder_is_one_line(tmp_path: Path, read_only: list[Path]) -> None:
    run_file = _run_file(tmp_path)
    out = tmp_path / "out"
    assert cli.invoke(app, ["run", str(run_file), "--out", str(out), "--quiet"]).exit_code in (0, 1)
    _make_read_only(out, read_only)
    before = _tree(out)
    _one_line_exit_2(["run", str(run_file), "--out", str(out), "--quiet"])
    assert _tree(out) == before
    report = cli.invoke(app, ["report", str(out)])  # reading a read-only folder still works
    assert report.exit_code == 0, report.output


def test_a_new_run_folder_under_a_read_only_one_is_one_line(
    tmp_path: Path, read_only: list[Path]
) -> None:
    run_file = _run_file(tmp_path)
    parent = tmp_path / "locked"
    parent.mkdir()
    _make_read_only(parent, read_only)
    _one_line_exit_2(["run", str(run_file), "--out", str(parent / "out"), "--quiet"])
    assert not (parent / "out").exists()
