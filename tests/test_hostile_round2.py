"""Hostile and broken inputs, second round (issue 25, classes 1 to 7).

1. `--retry-failed` after a judge failure re-judges what failed to be judged and re-runs what
   failed to run (it crashed with a KeyError in the planning).
3. A damaged run folder (run.db cut short or overwritten, a row that does not read, images/ a
   file): every command says what is damaged and what to do, exits 2 and changes nothing.
4. An instance removed from the suite is not counted by the report after a resume.
5. Export names the images it cannot find, and writes nothing, unless told to go on.
6. Nothing is read or written through a link that leads out of the run folder.

Classes 2 (a broken image reply) and 7 (redirects, credentials in a base_url) are in
tests/specialists/test_hostile_replies.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from realunify_fixture import RUN_SYSTEMS, config, write_realunify
from typer.testing import CliRunner

from composer.cli import app
from composer.core.errors import SpecialistError
from composer.evaluation.store import RunStore
from composer.specialists import mock

cli = CliRunner()

TWO_SYSTEMS = RUN_SYSTEMS + '[systems.other]\nueg = "direct"\ngeu = "direct"\n'
TWO_SYSTEMS += 'roles = { model = "mock/vlm" }\n'


def _invoke(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def _setup(tmp: Path, systems: str = TWO_SYSTEMS) -> tuple[Path, Path]:
    data = write_realunify(tmp / "RealUnify")
    run_file = tmp / "run.toml"
    run_file.write_text(config(data, systems))
    return run_file, tmp / "out"


def _run(run_file: Path, run_dir: Path, *more: str) -> tuple[int, str]:
    return _invoke("run", str(run_file), "--out", str(run_dir), "--quiet", *more)


Seen = list[tuple[str, str]]
_REAL_GATE = mock.MockSpecialist._gate


def _script(monkeypatch: pytest.MonkeyPatch, fail: Callable[[str, str], bool]) -> Seen:
    """Every mock model's request from now on, as (model, subject); `fail` ones raise."""
    seen: Seen = []

    async def gate(self: mock.MockSpecialist, subject: str) -> None:
        seen.append((self.model, subject))
        if fail(self.model, subject):
            raise SpecialistError(f"mock/{self.model}", "is unavailable (an outage, scripted).")
        await _REAL_GATE(self, subject)

    monkeypatch.setattr(mock.MockSpecialist, "_gate", gate)
    return seen


def _statuses(run_dir: Path) -> dict[tuple[str, str], str]:
    store = RunStore(run_dir)
    try:
        return {(r.system, r.instance): r.status for r in store.results()}
    finally:
        store.close()


# Class 1: --retry-failed after a judge failure.


def test_retry_failed_judges_again_what_failed_to_be_judged_without_drawing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_file, run_dir = _setup(tmp_path, RUN_SYSTEMS)
    _script(monkeypatch, lambda model, subject: model == "judge" and "Q-a" in subject)
    code, output = _run(run_file, run_dir)
    assert code == 1 and "--retry-failed" in output, output
    assert _statuses(run_dir)[("model", "UEG-0")] == "failed"

    seen = _script(monkeypatch, lambda model, subject: False)
    code, output = _run(run_file, run_dir, "--retry-failed")
    assert code == 0, output
    assert "Traceback" not in output and "KeyError" not in output
    assert _statuses(run_dir)[("model", "UEG-0")] == "ok"
    # Only UEG-0's judge questions were asked; its image was not drawn again.
    assert {model for model, _ in seen} == {"judge"}
    assert all("Q-a?" in subject or "Q-b?" in subject for _, subject in seen), seen
    assert "1 outputs judged again" in output


def test_retry_failed_reruns_what_failed_to_run_and_rejudges_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_file, run_dir = _setup(tmp_path)

    def outage(model: str, subject: str) -> bool:
        judge_down = model == "judge" and ("Q-c?" in subject or "Q-f?" in subject)
        return judge_down or (model == "vlm" and "prompt 5 for" in subject)

    _script(monkeypatch, outage)
    assert _run(run_file, run_dir)[0] == 1
    before = _statuses(run_dir)
    failed = {key for key, status in before.items() if status == "failed"}
    assert failed == {
        (system, instance)
        for system in ("model", "other")
        for instance in ("UEG-1", "UEG-3", "UEG-5")
    }
    seen = _script(monkeypatch, lambda model, subject: False)
    code, output = _run(run_file, run_dir, "--retry-failed")
    assert code == 0, output
    assert not {k for k, s in _statuses(run_dir).items() if s == "failed"}
    drawn = [s for m, s in seen if m == "vlm"]
    assert len(drawn) == 1 and "prompt 5 for" in drawn[0]  # the cache serves the other system
    assert "1 tasks run" not in output and "outputs judged again" in output


def test_retry_failed_runs_again_an_output_whose_image_no_judge_can_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_file, run_dir = _setup(tmp_path, RUN_SYSTEMS)
    _script(monkeypatch, lambda model, subject: model == "judge" and "Q-f" in subject)
    assert _run(run_file, run_dir)[0] == 1
    store = RunStore(run_dir)
    try:
        [result] = [r for r in store.results() if r.instance == "UEG-3"]
    finally:
        store.close()
    sha = result.output["image"].removeprefix("sha256:")
    image = run_dir / "images" / sha[:2] / f"{sha}.png"
    image.write_bytes(image.read_bytes()[:40])  # what the judge could not read
    seen = _script(monkeypatch, lambda model, subject: False)
    code, output = _run(run_file, run_dir, "--retry-failed")
    assert code == 0, output
    assert _statuses(run_dir)[("model", "UEG-3")] == "ok"
    assert [s for m, s in seen if m == "vlm"] == ["prompt 3 for logical_reasoning"]


def test_a_plain_resume_after_a_judge_failure_leaves_it_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_file, run_dir = _setup(tmp_path, RUN_SYSTEMS)
    _script(monkeypatch, lambda model, subject: model == "judge" and "Q-a" in subject)
    assert _run(run_file, run_dir)[0] == 1
    seen = _script(monkeypatch, lambda model, subject: False)
    code, output = _run(run_file, run_dir)
    assert code == 1 and "--retry-failed" in output, output
    assert seen == []


# Class 3: a damaged run folder.


def _finished_run(tmp: Path) -> tuple[Path, Path]:
    run_file, run_dir = _setup(tmp)
    code, output = _run(run_file, run_dir)
    assert code == 0, output
    return run_file, run_dir


def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` with a digest of its bytes (links by their target)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            found[key] = "link:" + os.readlink(path)
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[key] = "dir"
    return found


def _sql(run_dir: Path, statement: str) -> None:
    db = sqlite3.connect(run_dir / "run.db")
    with db:
        db.execute(statement)
    db.close()


def _cut(fraction: float = 0.0, *, to: int | None = None) -> Callable[[Path], None]:
    def cut(run_dir: Path) -> None:
        data = (run_dir / "run.db").read_bytes()
        (run_dir / "run.db").write_bytes(data[: int(len(data) * fraction) if to is None else to])

    return cut


def _overwrite(data: bytes) -> Callable[[Path], None]:
    return lambda run_dir: (run_dir / "run.db").write_bytes(data)


def _scribble(run_dir: Path) -> None:
    data = bytearray((run_dir / "run.db").read_bytes())
    data[len(data) // 3 : len(data) // 3 + 4096] = os.urandom(4096)
    (run_dir / "run.db").write_bytes(bytes(data))


def _empty_database(run_dir: Path) -> None:
    (run_dir / "run.db").unlink()
    db = sqlite3.connect(run_dir / "run.db")
    db.execute("PRAGMA user_version = 7")  # a valid SQLite file with no table
    db.close()


def _images_a_file(run_dir: Path) -> None:
    shutil.rmtree(run_dir / "images")
    (run_dir / "images").write_text("not a folder")


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "run.db cut in half": (_cut(0.5), "cut short"),
    "run.db cut to 40 bytes": (_cut(to=40), "cut short"),
    "run.db cut mid-page": (_cut(to=4096 * 3 + 100), "cut short"),
    "run.db cut to nothing": (_cut(0.0), "is empty"),
    "run.db overwritten with text": (_overwrite(b"hello\n" * 500), "not a SQLite database"),
    "run.db overwritten with zeros": (_overwrite(bytes(8192)), "not a SQLite database"),
    "a page of run.db scribbled over": (_scribble, "damaged"),
    "run.db replaced by an empty SQLite file": (_empty_database, "holds no tables"),
    "a table dropped": (lambda d: _sql(d, "DROP TABLE judgments"), "table judgments is gone"),
    "a calls row's cost not a number": (
        lambda d: _sql(d, "UPDATE calls SET cost_usd = 'free' WHERE rowid = 1"),
        "cost_usd 'free' is not a number",
    ),
    "malformed output JSON": (
        lambda d: _sql(d, "UPDATE results SET output = '{\"image\": ' WHERE instance = 'UEG-2'"),
        "the results row (system 'model', instance 'UEG-2', seed 0)",
    ),
    "output JSON a list": (
        lambda d: _sql(d, "UPDATE results SET output = '[1, 2]' WHERE instance = 'GEU-1'"),
        "instance 'GEU-1'",
    ),
    "unknown result status": (
        lambda d: _sql(d, "UPDATE results SET status = 'done' WHERE instance = 'GEU-3'"),
        "unknown status 'done'",
    ),
    "unknown score status": (
        lambda d: _sql(d, "UPDATE scores SET status = 'maybe' WHERE instance = 'UEG-4'"),
        "unknown status 'maybe'",
    ),
    "malformed usage JSON": (
        lambda d: _sql(d, "UPDATE results SET usage = 'x' WHERE instance = 'UEG-0'"),
        "the results row",
    ),
    "malformed system definition": (
        lambda d: _sql(d, "UPDATE systems SET definition = '{' WHERE name = 'other'"),
        "the systems row 'other'",
    ),
    "malformed run config": (
        lambda d: _sql(d, "UPDATE runs SET config = 'null'"),
        "the latest runs row",
    ),
    "images/ replaced by a file": (_images_a_file, "images/ is not a folder"),
}
COMMANDS = ["report", "report-json", "report-html", "compare", "export", "run", "retry-failed"]


def _command(name: str, run_file: Path, run_dir: Path, tmp: Path) -> list[str]:
    return {
        "report": ["report", str(run_dir)],
        "report-json": ["report", str(run_dir), "--format", "json"],
        "report-html": ["report", str(run_dir), "--format", "html", "--output", str(tmp / "h")],
        "compare": ["compare", str(run_dir), "model", "other"],
        "export": ["export", str(run_dir), "--output", str(tmp / "exported")],
        "run": ["run", str(run_file), "--out", str(run_dir), "--quiet"],
        "retry-failed": ["run", str(run_file), "--out", str(run_dir), "--quiet", "--retry-failed"],
    }[name]


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_every_command_names_the_damage_exits_2_and_changes_nothing(
    damage: str, tmp_path: Path
) -> None:
    run_file, run_dir = _finished_run(tmp_path)
    spoil, named = DAMAGE[damage]
    spoil(run_dir)
    before = _snapshot(run_dir)
    # The calls table is a cache and a trace: only what reads it (reports, a resuming run)
    # needs it whole; export reads none of it.
    commands = [c for c in COMMANDS if not (c == "export" and "calls row" in damage)]
    for command in commands:
        code, output = _invoke(*_command(command, run_file, run_dir, tmp_path))
        assert code == 2, (command, output)
        assert "Traceback" not in output, (command, output)
        lines = output.strip().splitlines()
        assert len(lines) == 1 and "damaged" in lines[0], (command, output)
        assert named in lines[0], (command, output)
        assert "Nothing was changed" in lines[0] and "new --out folder" in lines[0]
        assert _snapshot(run_dir) == before, f"{command} changed the damaged folder"
        assert not (tmp_path / "exported").exists() and not (tmp_path / "h").exists()


def test_a_folder_a_killed_run_left_before_its_first_write_still_resumes(tmp_path: Path) -> None:
    run_file, run_dir = _setup(tmp_path)
    run_dir.mkdir()
    (run_dir / "run.db").write_bytes(b"")
    (run_dir / "images").mkdir()
    code, output = _run(run_file, run_dir)
    assert code == 0, output


# Class 4: an instance removed from the suite is not counted.


def _report(run_dir: Path) -> dict:
    code, output = _invoke("report", str(run_dir), "--format", "json")
    assert code == 0, output
    return json.loads(output)


def _remove_ueg(data: Path, index: int) -> None:
    for name in ("UEG_direct.json", "UEG_step.json"):
        records = json.loads((data / name).read_text())
        (data / name).write_text(json.dumps([r for r in records if r["index"] != index]))


def test_a_removed_instance_is_not_counted_after_a_resume(tmp_path: Path) -> None:
    run_file, run_dir = _finished_run(tmp_path)
    assert _report(run_dir)["systems"]["model"]["UEG"]["counts"]["n"] == 7
    saved = (tmp_path / "RealUnify" / "UEG_direct.json").read_text()
    saved_step = (tmp_path / "RealUnify" / "UEG_step.json").read_text()
    _remove_ueg(tmp_path / "RealUnify", 6)
    code, output = _run(run_file, run_dir)
    assert code == 0 and "10 already done" in output.replace("20 already", "10 already"), output
    report = _report(run_dir)
    for system in ("model", "other"):
        ueg = report["systems"][system]["UEG"]
        assert ueg["counts"]["n"] == 6 and "world_knowledge" in ueg["category_counts"]
        assert ueg["category_counts"]["world_knowledge"]["n"] == 1  # UEG-6 was the second
    assert report["not_counted"]["instances"] == ["UEG-6"]
    assert report["not_counted"]["results"] == 2
    code, table = _invoke("report", str(run_dir))
    assert code == 0 and "Not counted: 2 stored results of 1 instances" in table.replace("\n", " ")
    code, markdown = _invoke("report", str(run_dir), "--format", "markdown")
    assert "UEG-6" in markdown and "Not counted" in markdown
    code, jsonl = _invoke("report", str(run_dir), "--format", "jsonl")
    assert '"UEG-6"' not in jsonl
    code, compared = _invoke("compare", str(run_dir), "model", "other")
    assert code == 0, compared
    code, text = _invoke("export", str(run_dir), "--output", str(tmp_path / "exported"))
    assert code == 0, text
    exported = json.loads((tmp_path / "exported" / "model" / "UEG_direct.json").read_text())
    assert sorted(r["index"] for r in exported) == [0, 1, 2, 3, 4, 5]
    # Back in the benchmark, it counts again (its results were kept).
    (tmp_path / "RealUnify" / "UEG_direct.json").write_text(saved)
    (tmp_path / "RealUnify" / "UEG_step.json").write_text(saved_step)
    code, output = _run(run_file, run_dir)
    assert code == 0 and "0 tasks run" in output, output
    report = _report(run_dir)
    assert report["systems"]["model"]["UEG"]["counts"]["n"] == 7 and "not_counted" not in report


def test_a_subset_run_removes_nothing_from_the_count(tmp_path: Path) -> None:
    run_file, run_dir = _finished_run(tmp_path)
    assert _run(run_file, run_dir, "--limit", "1")[0] == 0
    report = _report(run_dir)
    assert report["systems"]["model"]["UEG"]["counts"]["n"] == 7 and "not_counted" not in report
    # A run of some categories speaks for those categories only.
    text = run_file.read_text().replace(
        'name = "realunify"', 'name = "realunify"\ncategories = ["world_knowledge"]'
    )
    run_file.write_text(text)
    _remove_ueg(tmp_path / "RealUnify", 6)
    _remove_ueg(tmp_path / "RealUnify", 3)  # logical_reasoning: not in this run's categories
    assert _run(run_file, run_dir)[0] == 0
    report = _report(run_dir)
    assert report["not_counted"]["instances"] == ["UEG-6"]
    assert report["systems"]["model"]["UEG"]["counts"]["n"] == 6


# Class 5: export names the images it cannot find.


def _image_of(run_dir: Path, system: str, instance: str) -> Path:
    store = RunStore(run_dir)
    try:
        [result] = [r for r in store.results(system) if r.instance == instance]
    finally:
        store.close()
    sha = result.output["image"].removeprefix("sha256:")
    return run_dir / "images" / sha[:2] / f"{sha}.png"


def _export(run_dir: Path, output: Path, *more: str) -> tuple[int, str]:
    return _invoke("export", str(run_dir), "--output", str(output), *more)


def test_export_refuses_when_images_are_missing_and_writes_nothing(tmp_path: Path) -> None:
    _, run_dir = _finished_run(tmp_path)
    _image_of(run_dir, "model", "UEG-2").unlink()  # both systems drew the same image
    _image_of(run_dir, "other", "UEG-4").unlink()
    code, output = _export(run_dir, tmp_path / "exported")
    assert code == 2, output
    line = output.strip()
    assert len(line.splitlines()) == 1 and "lacks the images of 4 outputs" in line
    assert "model UEG-2 (generated_image)" in line and "other UEG-4 (generated_image)" in line
    assert "--allow-missing" in line and "Nothing was written" in line
    assert not (tmp_path / "exported").exists()


def test_export_with_allow_missing_writes_null_and_counts_them(tmp_path: Path) -> None:
    _, run_dir = _finished_run(tmp_path)
    _image_of(run_dir, "model", "UEG-2").unlink()
    code, output = _export(run_dir, tmp_path / "exported", "--allow-missing")
    assert code == 0, output
    assert "warning: the images of 2 outputs are missing" in output
    assert "model UEG-2" in output and "other UEG-2" in output
    for system in ("model", "other"):
        records = json.loads((tmp_path / "exported" / system / "UEG_direct.json").read_text())
        images = {r["index"]: r["generated_image"] for r in records}
        assert images[2] is None and all(images[i] for i in images if i != 2)


def test_a_failed_output_has_no_image_to_miss(tmp_path: Path) -> None:
    _, run_dir = _finished_run(tmp_path)
    _sql(run_dir, "UPDATE results SET status = 'failed', output = '{}' WHERE instance = 'UEG-1'")
    code, output = _export(run_dir, tmp_path / "exported")
    assert code == 0 and "warning" not in output, output


# Class 6: nothing is read or written through a link that leads out of the run folder.


def _outside_png(tmp: Path, name: str = "secret.png") -> Path:
    from PIL import Image

    secret = tmp / name
    Image.new("RGB", (9, 9), (1, 2, 3)).save(secret)
    return secret


def test_export_does_not_read_an_image_through_a_link_out(tmp_path: Path) -> None:
    _, run_dir = _finished_run(tmp_path)
    secret = _outside_png(tmp_path)
    image = _image_of(run_dir, "model", "UEG-3")
    image.unlink()
    image.symlink_to(secret)
    code, output = _export(run_dir, tmp_path / "exported")
    assert code == 2 and "model UEG-3 (generated_image)" in output, output
    assert "link out of the run folder" in output and not (tmp_path / "exported").exists()
    code, output = _export(run_dir, tmp_path / "exported", "--allow-missing")
    assert code == 0, output
    exported = b"".join(p.read_bytes() for p in (tmp_path / "exported").rglob("*.png"))
    assert secret.read_bytes() not in exported


def _link_out_a_folder(run_dir: Path, tmp: Path) -> Path:
    folder = next(p for p in sorted((run_dir / "images").iterdir()) if p.is_dir())
    elsewhere = tmp / "elsewhere"
    shutil.move(folder, elsewhere)
    folder.symlink_to(elsewhere, target_is_directory=True)
    return elsewhere


def _link_out_images(run_dir: Path, tmp: Path) -> Path:
    elsewhere = tmp / "elsewhere"
    shutil.move(run_dir / "images", elsewhere)
    (run_dir / "images").symlink_to(elsewhere, target_is_directory=True)
    return elsewhere


@pytest.mark.parametrize("link", [_link_out_a_folder, _link_out_images])
def test_a_run_folder_whose_images_lead_out_is_refused_by_every_command(
    link: Callable[[Path, Path], Path], tmp_path: Path
) -> None:
    run_file, run_dir = _finished_run(tmp_path)
    elsewhere = link(run_dir, tmp_path)
    before, outside = _snapshot(run_dir), _snapshot(elsewhere)
    for command in COMMANDS:
        code, output = _invoke(*_command(command, run_file, run_dir, tmp_path))
        assert code == 2 and "Traceback" not in output, (command, output)
        assert "a link that leads out of a run folder" in output, (command, output)
        assert len(output.strip().splitlines()) == 1, (command, output)
    assert _snapshot(run_dir) == before and _snapshot(elsewhere) == outside
    assert not (tmp_path / "exported").exists() and not (tmp_path / "h").exists()


def test_a_run_replaces_an_image_link_out_and_never_writes_through_it(tmp_path: Path) -> None:
    run_file, run_dir = _finished_run(tmp_path)
    secret = _outside_png(tmp_path)
    secret_bytes = secret.read_bytes()
    image = _image_of(run_dir, "model", "UEG-0")
    drawn = image.read_bytes()
    image.unlink()
    image.symlink_to(secret)
    code, output = _run(run_file, run_dir, "--rerun", "model")
    assert code == 0, output
    assert secret.read_bytes() == secret_bytes  # not written through
    assert not image.is_symlink() and image.read_bytes() == drawn


def test_the_image_store_does_not_read_through_a_link_out(tmp_path: Path) -> None:
    from composer.core.errors import DataError
    from composer.core.images import ImageStore

    store = ImageStore(tmp_path / "run" / "images")
    secret = _outside_png(tmp_path)
    ref = store.put_png(_outside_png(tmp_path, "inside.png").read_bytes())
    store.path(ref).unlink()
    store.path(ref).symlink_to(secret)
    assert ref not in store and ref.sha256 not in store.digests()
    with pytest.raises(DataError, match="outside the run folder"):
        store.read_bytes(ref)
    with pytest.raises(DataError, match="outside the run folder"):
        store.original(ref)
