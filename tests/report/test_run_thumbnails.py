"""The HTML report takes the thumbnails a run made when it stored its images."""

from __future__ import annotations

import filecmp
import io
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mockbench import config_text, write_fixture
from PIL import Image
from typer.testing import CliRunner

from composer.cli import app
from composer.core.images import ImageRef, ImageStore
from composer.report.drawings import Thumbnails, make_thumb

cli = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("thumbs")
    config = root / "c.toml"
    config.write_text(config_text(write_fixture(root / "data")))
    result = cli.invoke(app, ["run", str(config), "--out", str(root / "run"), "--quiet"])
    assert result.exit_code == 1, result.output  # the fixture's scripted failure: incomplete
    return root / "run"


def _report(run_dir: Path, out: Path) -> Path:
    result = cli.invoke(app, ["report", str(run_dir), "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _same_folders(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    if files != sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()):
        return False
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)


def _copy(run_dir: Path, folder: Path) -> Path:
    shutil.copytree(run_dir, folder / "run")
    return folder / "run"


def test_the_report_places_the_runs_thumbnails_and_makes_only_the_missing(
    run_dir: Path, tmp_path: Path
) -> None:
    run = _copy(run_dir, tmp_path)
    store = ImageStore(run / "images", create=False)
    ready = store.thumbnails()
    assert ready and set(ready) <= store.digests()
    marker = io.BytesIO()
    Image.new("RGB", (5, 5), (250, 0, 250)).save(marker, format="JPEG")
    marked, missing = sorted(ready)[::2], sorted(ready)[1::2]
    for sha in marked:  # not what its stored image gives: only the run's file has these bytes
        Path(ready[sha]).write_bytes(marker.getvalue())
    for sha in missing:
        Path(ready[sha]).unlink()
    out = _report(run, tmp_path / "site")
    shown = {p.name[:-4]: p.read_bytes() for p in (out / "thumbs").glob("*.jpg")}
    marked_shown = [sha for sha in marked if sha[:20] in shown]
    missing_shown = [sha for sha in missing if sha[:20] in shown]
    assert marked_shown and missing_shown
    assert all(shown[sha[:20]] == marker.getvalue() for sha in marked_shown)
    for sha in missing_shown:  # made from the stored image, as before
        made = tmp_path / f"{sha}.jpg"
        assert make_thumb(store.path(ImageRef(sha256=sha)), made)
        assert shown[sha[:20]] == made.read_bytes() != marker.getvalue()


def test_a_report_from_the_runs_thumbnails_is_the_one_made_without_them(
    run_dir: Path, tmp_path: Path
) -> None:
    # Each report beside its own copy of the run, so their links to images read alike.
    placed = _report(_copy(run_dir, tmp_path / "a"), tmp_path / "a" / "site")
    old = _copy(run_dir, tmp_path / "b")
    shutil.rmtree(old / "images" / "thumbs")  # a run stored before thumbnails were
    made = _report(old, tmp_path / "b" / "site")
    assert ImageStore(run_dir / "images", create=False).thumbnails()
    assert _same_folders(placed, made)


def test_a_run_thumbnail_gone_meanwhile_is_made_and_children_make_the_missing(
    run_dir: Path, tmp_path: Path
) -> None:
    store = ImageStore(run_dir / "images", create=False)
    shas = sorted(store.digests())[:6]
    jobs = [(sha, str(store.path(ImageRef(sha256=sha))), f"{sha[:20]}.jpg") for sha in shas]
    ready = {shas[0]: str(store.thumb_path(ImageRef(sha256=shas[0])))}
    ready[shas[1]] = str(tmp_path / "listed, then removed.jpg")
    folder = tmp_path / "thumbs"
    folder.mkdir()
    with ThreadPoolExecutor(2) as pool:  # from 2 missing on, in child processes
        shown = Thumbnails(jobs, ready, folder, pool, processes_from=2).shown()
    assert shown == {sha: f"thumbs/{sha[:20]}.jpg" for sha in shas}
    for sha in shas:
        made = tmp_path / f"{sha}.jpg"
        assert make_thumb(store.path(ImageRef(sha256=sha)), made)
        assert (folder / f"{sha[:20]}.jpg").read_bytes() == made.read_bytes()
