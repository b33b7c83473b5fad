"""Folders other people send: nothing merged, nothing read or written outside its folder.

Index types (0 and "0") never collapse two records into one result; an imported folder cannot
point composer at files outside it; `export` writes only under `--output`, one file per
record; CSV reports never carry a formula a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from realunify_fixture import RUN_SYSTEMS, config, write_realunify
from typer.testing import CliRunner

from composer.cli import app
from composer.core.images import MAX_FILE_BYTES, ImageRef, ImageStore
from composer.evaluation.store import RunStore

cli = CliRunner()


def _invoke(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def _run(tmp: Path, systems: str = RUN_SYSTEMS, data: Path | None = None) -> tuple[int, str]:
    data = data or write_realunify(tmp / "RealUnify")
    run_file = tmp / "run.toml"
    run_file.write_text(config(data, systems))
    return _invoke("run", str(run_file), "--out", str(tmp / "out"), "--quiet")


def _one_line_exit_2(code: int, output: str, tmp: Path) -> None:
    assert code == 2, output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1, output
    assert not (tmp / "out").exists()


# Class A: distinct records never become one instance.


def test_indexes_0_and_text_0_are_one_index_and_an_error_naming_both(tmp_path: Path) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    records = json.loads((data / "UEG_direct.json").read_text())
    records[4]["index"] = "0"  # record 0 has index 0
    (data / "UEG_direct.json").write_text(json.dumps(records))
    code, output = _run(tmp_path, data=data)
    _one_line_exit_2(code, output, tmp_path)
    assert "UEG_direct.json index 0: field 'index' repeats" in output
    assert "records 0 and 4 have indexes 0 and '0'" in output


def test_a_step_record_under_text_index_still_joins_its_direct_record(tmp_path: Path) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    step = json.loads((data / "UEG_step.json").read_text())
    step[0]["index"] = "0"
    step[1]["index"] = "0"
    (data / "UEG_step.json").write_text(json.dumps(step))
    code, output = _run(tmp_path, data=data)
    _one_line_exit_2(code, output, tmp_path)
    assert "UEG_step.json index 0" in output and "records 0 and 1" in output


def test_ten_records_of_mixed_index_types_are_ten_results(tmp_path: Path) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    records = json.loads((data / "UEG_direct.json").read_text())
    base = records[0]
    ten = [{**base, "index": i if i % 2 else f"x{i}"} for i in range(10)]
    (data / "UEG_direct.json").write_text(json.dumps(ten))
    (data / "UEG_step.json").unlink()
    code, output = _run(tmp_path, data=data)
    assert code in (0, 1), output  # 0, or 1 when some task failed: either way, all ran
    store = RunStore(tmp_path / "out")
    try:
        ueg = [r for r in store.results() if r.axis == "UEG"]
    finally:
        store.close()
    assert len(ueg) == 10 and len({r.instance for r in ueg}) == 10


def test_imported_records_0_and_text_0_are_an_error_naming_both(tmp_path: Path) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    folder = _imported(tmp_path, data)
    records = json.loads((folder / "UEG_direct.json").read_text())
    records[3]["index"] = "1"
    (folder / "UEG_direct.json").write_text(json.dumps(records))
    code, output = _run(tmp_path, _imported_system(folder), data)
    _one_line_exit_2(code, output, tmp_path)
    assert "records 1 and 3 have indexes 1 and '1'" in output


# Class D: an imported folder is confined to itself.


def _imported(tmp: Path, data: Path) -> Path:
    folder = tmp / "results"
    (folder / "images").mkdir(parents=True)
    records = json.loads((data / "UEG_direct.json").read_text())
    for record in records:
        name = f"images/{record['index']}.png"
        Image.new("RGB", (8, 8), (200, 0, 0)).save(folder / name)
        record["generated_image"] = name
    (folder / "UEG_direct.json").write_text(json.dumps(records))
    return folder


def _imported_system(folder: Path) -> str:
    return f'[systems.bagel]\nimport = "{folder}"\nmode = "direct"\n'


def _point(folder: Path, position: int, path: str) -> None:
    records = json.loads((folder / "UEG_direct.json").read_text())
    records[position]["generated_image"] = path
    (folder / "UEG_direct.json").write_text(json.dumps(records))


@pytest.mark.parametrize("kind", ["symlink to /proc/self/environ", "symlink out", "../", "/abs"])
def test_imported_paths_cannot_leave_their_folder(kind: str, tmp_path: Path) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    folder = _imported(tmp_path, data)
    secret = tmp_path / "secret.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(secret)  # a real image: only the place is wrong
    if kind == "symlink to /proc/self/environ":
        os.symlink("/proc/self/environ", folder / "images" / "env.png")
        _point(folder, 2, "images/env.png")
    elif kind == "symlink out":
        os.symlink(secret, folder / "images" / "link.png")
        _point(folder, 2, "images/link.png")
    elif kind == "../":
        _point(folder, 2, "../secret.png")
    else:
        _point(folder, 2, str(secret))
    code, output = _run(tmp_path, _imported_system(folder), data)
    _one_line_exit_2(code, output, tmp_path)
    assert "UEG_direct.json index 2: field 'generated_image' escapes the import folder" in output


def test_an_absolute_path_inside_the_folder_is_fine(tmp_path: Path) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    folder = _imported(tmp_path, data)
    _point(folder, 2, str(folder / "images" / "2.png"))
    code, output = _run(tmp_path, _imported_system(folder), data)
    assert code in (0, 1), output


def test_an_imported_file_too_large_is_not_read_and_fails_its_instance(tmp_path: Path) -> None:
    data = write_realunify(tmp_path / "RealUnify")
    folder = _imported(tmp_path, data)
    with open(folder / "images" / "huge.png", "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    _point(folder, 1, "images/huge.png")
    (folder / "images" / "text.png").write_text("API_KEY=sk-secret")
    _point(folder, 3, "images/text.png")
    code, output = _run(tmp_path, _imported_system(folder), data)
    assert code in (0, 1), output
    store = RunStore(tmp_path / "out")
    try:
        errors = {r.instance: r.error for r in store.results()}
    finally:
        store.close()
    assert "MiB" in (errors["UEG-1"] or "") and "is not an image" in (errors["UEG-3"] or "")
    stored = b"".join(p.read_bytes() for p in (tmp_path / "out" / "images").rglob("*.png"))
    assert b"sk-secret" not in stored


# Class D: export writes only under --output, one file per record.


def _hostile_run(tmp: Path) -> Path:
    code, output = _run(tmp)
    assert code in (0, 1), output
    run_dir = tmp / "out"
    db = sqlite3.connect(run_dir / "run.db")
    with db:
        for old, new in (("UEG-0", "UEG-../../x"), ("UEG-1", "UEG-../../X"), ("UEG-2", "ueg-0")):
            db.execute(
                "UPDATE instances SET id = ?, record = json_set(record, '$.id', ?) WHERE id = ?",
                (new, new, old),
            )
            db.execute("UPDATE results SET instance = ? WHERE instance = ?", (new, old))
        db.execute("UPDATE systems SET name = '../../evil' WHERE name = 'model'")
        db.execute("UPDATE results SET system = '../../evil' WHERE system = 'model'")
    db.close()
    return run_dir


def test_export_never_writes_outside_output_nor_shares_a_file(tmp_path: Path) -> None:
    run_dir = _hostile_run(tmp_path)
    output = tmp_path / "deep" / "export"
    output.parent.mkdir()
    before = {p for p in tmp_path.rglob("*") if not p.is_relative_to(output)}
    code, text = _invoke("export", str(run_dir), "--output", str(output))
    assert code == 0, text
    after = {p for p in tmp_path.rglob("*") if not p.is_relative_to(output)}
    assert after == before, "export wrote outside --output"
    [folder] = [p for p in output.iterdir() if p.is_dir()]
    records = json.loads((folder / "UEG_direct.json").read_text())
    images = [r["generated_image"] for r in records if r["generated_image"]]
    assert len(images) == len({i.casefold() for i in images}) == len(records)
    for image in images:
        assert (folder / image).resolve().is_relative_to(folder.resolve())


def test_export_output_a_file_is_one_clear_error(tmp_path: Path) -> None:
    run_dir = _hostile_run(tmp_path)
    (tmp_path / "file").write_text("x")
    code, output = _invoke("export", str(run_dir), "--output", str(tmp_path / "file" / "sub"))
    assert code == 2 and "which is a file" in output and len(output.strip().splitlines()) == 1


def test_export_systems_that_names_none_is_refused_not_every_system(tmp_path: Path) -> None:
    run_dir = _hostile_run(tmp_path)
    output = tmp_path / "export"
    code, text = _invoke("export", str(run_dir), "--output", str(output), "--systems", " ,")
    assert code == 2 and "--systems" in text and "names no system" in text, text
    assert not output.exists()


def test_a_run_file_with_a_byte_order_mark_reads_as_without(tmp_path: Path) -> None:
    from composer.core.config import load_config

    plain = tmp_path / "plain.toml"
    plain.write_text(
        '[benchmark]\nname = "synthetic"\n[systems.s]\nueg = "direct"\n'
        'roles = { model = "symbolic/naive-unified" }\n',
        encoding="utf-8",
    )
    marked = tmp_path / "marked.toml"
    marked.write_text("\ufeff" + plain.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_config(marked).systems == load_config(plain).systems  # not "line 1" invalid


# Class D: CSV reports carry no formula.


def test_csv_report_escapes_formulas_and_keeps_numbers(tmp_path: Path) -> None:
    systems = RUN_SYSTEMS.replace("[systems.model]", '[systems."=HYPERLINK(1)"]')
    systems += '[systems."-2+3"]\nueg = "direct"\nroles = { model = "mock/vlm" }\n'
    systems += '[systems."@SUM(A1)"]\ngeu = "direct"\nroles = { model = "mock/vlm" }\n'
    code, output = _run(tmp_path, systems)
    assert code in (0, 1), output
    code, text = _invoke("report", str(tmp_path / "out"), "--format", "csv")
    assert code == 0, text
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'=HYPERLINK(1)" in cells and "'-2+3" in cells and "'@SUM(A1)" in cells
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    for cell in dangerous:
        float(cell)  # only numbers may start like a formula


def test_export_refuses_an_image_damaged_since_it_was_stored(tmp_path: Path) -> None:
    """A truncated or overwritten image is named as a missing one is (it was copied out as it
    was: a 0-byte or garbage PNG in the export, exit 0)."""
    code, output = _run(tmp_path)
    assert code in (0, 1), output
    run_dir = tmp_path / "out"
    store = RunStore(run_dir)
    try:
        drawn = next(r.output["image"] for r in store.results() if r.output.get("image"))
    finally:
        store.close()
    image = run_dir / "images" / ImageStore.relative_path(ImageRef.parse(drawn))
    image.write_bytes(image.read_bytes()[:20])
    code, text = _invoke("export", str(run_dir), "--output", str(tmp_path / "export"))
    assert code == 2, text
    assert "is damaged (its bytes are not the image's)" in text
    assert "Traceback" not in text


def test_a_run_never_writes_into_the_folder_it_reads(tmp_path: Path) -> None:
    """--out at the benchmark's own folder would put run.db and images/ among its files."""
    data = write_realunify(tmp_path / "RealUnify")
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    run_file = tmp_path / "run.toml"
    run_file.write_text(config(data, RUN_SYSTEMS))
    code, output = _invoke("run", str(run_file), "--out", str(data), "--quiet")
    assert code == 2, output
    assert "is the folder [benchmark] path reads" in output and "--out runs/NAME" in output
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
