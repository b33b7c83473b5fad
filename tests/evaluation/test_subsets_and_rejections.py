"""A run file valid for the benchmark stays valid for any subset of it, and a rejected run
leaves its run folder exactly as it was."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from composer.cli import app

cli = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def demo_file(tmp_path: Path, extra: str = "", name: str = "demo.toml") -> Path:
    text = (EXAMPLES / "demo.toml").read_text().replace("n_per_category = 10", "n_per_category = 2")
    path = tmp_path / name
    path.write_text(text.replace("[benchmark]\n", f"[benchmark]\n{extra}"))
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, [*args])
    return result.exit_code, result.output


def state(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its content hash (SQLite's transient -wal/-shm aside)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


@pytest.mark.parametrize(
    "subset",
    [
        'categories = ["WK"]\n',  # only UEG instances: the GEU graphs bind no instance
        'categories = ["MR-II", "CN"]\n',  # only GEU instances: the UEG graphs and the judge idle
        "limit = 1\n",
    ],
)
def test_a_config_valid_for_the_benchmark_is_valid_for_any_subset(
    tmp_path: Path, subset: str
) -> None:
    # Before: categories = ["WK"] exited 2 with "binds editor, which no graph of this system has".
    code, output = invoke("run", str(demo_file(tmp_path, subset)), "--out", str(tmp_path / "r"))
    assert code == 0, output


def test_a_subset_run_and_the_whole_share_one_definition(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    code, output = invoke(
        "run", str(demo_file(tmp_path, 'categories = ["WK"]\n')), "--out", str(run_dir)
    )
    assert code == 0, output
    # The same systems on the whole suite, into the same folder: not "a changed system".
    code, output = invoke("run", str(demo_file(tmp_path)), "--out", str(run_dir), "--quiet")
    assert code == 0, output
    assert "already done" in output


def test_systems_and_limit_flags_keep_the_config_valid(tmp_path: Path) -> None:
    config = demo_file(tmp_path)
    code, output = invoke(
        "run", str(config), "--out", str(tmp_path / "r"), "--systems", "oracle", "--limit", "1"
    )
    assert code == 0, output


def test_an_imported_system_on_a_subset_reads_only_its_instances(tmp_path: Path) -> None:
    run_dir = tmp_path / "full"
    config = demo_file(tmp_path)
    assert invoke("run", str(config), "--out", str(run_dir), "--systems", "oracle")[0] == 0
    exported = tmp_path / "exported"
    assert invoke("export", str(run_dir), "--output", str(exported))[0] == 0
    folder = next(p for p in exported.iterdir() if p.is_dir())
    text = demo_file(tmp_path, 'categories = ["WK"]\n', "subset.toml").read_text()
    text += f'\n[systems.imported]\nimport = "{folder}"\nmode = "step"\nkind = "composed"\n'
    subset = tmp_path / "subset.toml"
    subset.write_text(text)
    code, output = invoke(
        "run", str(subset), "--out", str(tmp_path / "s"), "--systems", "imported", "--quiet"
    )
    assert code == 0, output
    report = json.loads(invoke("report", str(tmp_path / "s"), "--format", "json")[1])
    assert report["systems"]["imported"]["UEG"]["counts"]["n"] == 2  # WK only


def test_a_rejected_run_leaves_the_folder_exactly_as_it_was(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    config = demo_file(tmp_path)
    assert (
        invoke("run", str(config), "--out", str(run_dir), "--systems", "oracle,naive-direct")[0]
        == 0
    )
    before = state(run_dir)

    # A new system listed before a changed one: before, the new system's definition was stored
    # and the run record (with this file's parser and seed) written before the change was found.
    changed = config.read_text()
    changed = changed.replace('parser = "official"', 'parser = "strict"')
    changed = changed.replace("seed = 0\nconcurrency", "seed = 7\nconcurrency")
    new_system = '[systems.aaa-new]\nueg = "direct"\nroles = { model = "symbolic/painter" }\n\n'
    changed = changed.replace("[systems.naive-direct]", new_system + "[systems.naive-direct]")
    changed = changed.replace(
        'generator = "symbolic/painter", editor',
        'generator = "symbolic/naive-unified", editor',
    )
    bad = tmp_path / "changed.toml"
    bad.write_text(changed)
    code, output = invoke(
        "run", str(bad), "--out", str(run_dir), "--systems", "aaa-new,naive-direct,oracle"
    )
    assert code == 2 and "system 'oracle'" in output and "--rerun oracle" in output, output
    assert state(run_dir) == before
    report = json.loads(invoke("report", str(run_dir), "--format", "json")[1])
    assert report["parser"] == "official" and report["seed"] == 0  # not the rejected file's

    # A changed benchmark: rejected after the systems are checked, and nothing written either.
    other = demo_file(tmp_path, "", "other.toml")
    other.write_text(
        other.read_text()
        .replace("seed = 0\ndifficulty", "seed = 0\ndifficulty")
        .replace("n_per_category = 2\nseed = 0", "n_per_category = 2\nseed = 5")
    )
    code, output = invoke("run", str(other), "--out", str(run_dir), "--systems", "oracle")
    assert code == 2, output
    assert state(run_dir) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_report_works_on_a_read_only_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    assert (
        invoke("run", str(demo_file(tmp_path)), "--out", str(run_dir), "--systems", "oracle")[0]
        == 0
    )
    for path in [run_dir, *run_dir.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        code, output = invoke("report", str(run_dir), "--format", "json")
        assert code == 0, output
    finally:
        for path in [run_dir, *run_dir.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_reading_a_run_folder_writes_nothing_into_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    assert invoke("run", str(demo_file(tmp_path)), "--out", str(run_dir), "--quiet")[0] == 0
    before = state(run_dir)
    names_before = sorted(os.listdir(run_dir))
    assert not any(n.endswith(("-wal", "-shm")) for n in names_before)  # run's table print too
    for args in (
        ("report", str(run_dir)),
        ("report", str(run_dir), "--format", "json"),
        ("report", str(run_dir), "--format", "html", "--output", str(tmp_path / "html")),
        ("compare", str(run_dir), "oracle", "naive-direct"),
        ("export", str(run_dir), "--output", str(tmp_path / "exported")),
    ):
        code, output = invoke(*args)
        assert code == 0, output
    assert state(run_dir) == before
    assert sorted(os.listdir(run_dir)) == names_before  # not even SQLite's -wal and -shm
