"""Thumbnails made when a run stores an image: the report's bytes, never in the way."""

from __future__ import annotations

import io
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from composer.core.images import ImageRef, ImageStore
from composer.evaluation.lock import CreatedFiles
from composer.evaluation.store_checks import check_folder
from composer.report.drawings import make_thumb


def _noise(mode: str, size: tuple[int, int], seed: int = 0) -> Image.Image:
    """An image of random pixels (JPEG-unfriendly, so any difference in pixels shows)."""
    rng = random.Random(seed)
    bands = len(Image.new(mode, (1, 1)).getbands())
    data = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * bands))
    if mode == "P":
        image = Image.frombytes("L", size, data).convert("P")
        image.putpalette([rng.randrange(256) for _ in range(768)])
        image.info["transparency"] = 7  # one colour transparent: flattened onto white
        return image
    return Image.frombytes(mode, size, data)


IMAGES: dict[str, Callable[[], Image.Image]] = {
    "RGB": lambda: _noise("RGB", (256, 192)),
    "RGBA": lambda: _noise("RGBA", (200, 300)),
    "L": lambda: _noise("L", (128, 128)),
    "LA": lambda: _noise("LA", (90, 70)),
    "P small": lambda: _noise("P", (100, 80)),
    "P large": lambda: _noise("P", (300, 200)),
    "1": lambda: _noise("L", (100, 100)).convert("1"),
    "1 large": lambda: _noise("L", (300, 130)).convert("1"),
    "I;16": lambda: _noise("L", (64, 40)).convert("I;16"),
    "I;16 large": lambda: _noise("L", (200, 160)).convert("I;16"),
    "tiny": lambda: _noise("RGB", (1, 3)),
    "large": lambda: _noise("RGB", (2500, 700)),
}


def _report_thumb(store: ImageStore, ref: ImageRef, folder: Path) -> bytes | None:
    """The report's thumbnail of the stored PNG, made by the report's own function."""
    target = folder / f"{ref.sha256}.jpg"
    return target.read_bytes() if make_thumb(store.path(ref), target) else None


def _run_thumb(store: ImageStore, ref: ImageRef) -> bytes | None:
    path = store.thumb_path(ref)
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("name", list(IMAGES))
def test_the_thumbnail_made_at_put_is_the_reports_byte_for_byte(name: str, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    ref = store.put(IMAGES[name](), text={})
    expected = _report_thumb(store, ref, tmp_path)
    assert _run_thumb(store, ref) == expected
    assert expected is not None  # every mode, palette and 16-bit ones past 2x the box included
    with Image.open(io.BytesIO(expected)) as thumb:
        assert max(thumb.size) == min(64, max(IMAGES[name]().size)) and thumb.mode == "RGB"


@pytest.mark.parametrize("name", ["RGB", "RGBA", "P small", "L", "large"])
def test_stored_files_and_checked_reply_bytes_get_the_reports_thumbnail(
    name: str, tmp_path: Path
) -> None:
    image = IMAGES[name]()
    png, jpeg = io.BytesIO(), io.BytesIO()
    image.save(png, format="PNG")
    image.convert("RGB").save(jpeg, format="JPEG")
    (tmp_path / "in.png").write_bytes(png.getvalue())
    (tmp_path / "in.jpg").write_bytes(jpeg.getvalue())
    loaded = ImageStore(tmp_path / "loaded")
    refs = [loaded.put_file(tmp_path / "in.png"), loaded.put_file(tmp_path / "in.jpg")]
    if name == "large":  # the full-size originals too
        refs += [loaded.original(ref) for ref in refs]
    for ref in refs:
        assert _run_thumb(loaded, ref) == _report_thumb(loaded, ref, tmp_path) is not None
    replies = ImageStore(tmp_path / "replies")  # a hosted model's bytes: decoded when checked
    ref = replies.put_png(png.getvalue())
    assert _run_thumb(replies, ref) is None
    assert replies.problem(ref) is None
    assert _run_thumb(replies, ref) == _report_thumb(replies, ref, tmp_path) is not None


def test_a_thumbnail_that_cannot_be_written_fails_nothing(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    (tmp_path / "images" / "thumbs").write_text("a file where the thumbnails' folder goes")
    ref = store.put(_noise("RGB", (96, 96)))
    assert store.open(ref).size == (96, 96) and store.problem(ref) is None
    assert store.thumbnails() == {}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    linked = ImageStore(tmp_path / "linked")
    (tmp_path / "linked" / "thumbs").symlink_to(elsewhere, target_is_directory=True)
    ref = linked.put(_noise("RGB", (96, 96)))
    assert linked.open(ref).size == (96, 96)
    assert not list(elsewhere.rglob("*.jpg")) and linked.thumbnails() == {}


def test_nothing_that_lists_stored_images_sees_thumbnails(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    store = ImageStore(run_dir / "images")
    refs = {store.put(_noise("RGB", (80, 80), seed)) for seed in range(20)}
    assert len(store.thumbnails()) == 20
    assert store.digests() == {ref.sha256 for ref in refs}
    assert {p.name for p in (run_dir / "images").rglob("*.png")} == {
        f"{ref.sha256}.png" for ref in refs
    }
    check_folder(run_dir)  # the run folder's own checks find nothing wrong
    assert ImageStore(run_dir / "images", create=False).digests() == store.digests()


def test_an_image_stored_again_keeps_its_thumbnail(tmp_path: Path) -> None:
    image = _noise("RGB", (120, 90))
    first = ImageStore(tmp_path / "images")
    ref = first.put(image)
    before = os.stat(first.thumb_path(ref))
    again = ImageStore(tmp_path / "images")  # a resumed run: a new store object
    assert again.put(image) == ref
    after = os.stat(again.thumb_path(ref))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_rejected_run_takes_its_thumbnails_away(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    kept = ImageStore(run_dir / "images").put(_noise("RGB", (70, 70), 1))
    created = CreatedFiles.before_run(run_dir)
    store = ImageStore(run_dir / "images")
    added = store.put(_noise("RGB", (70, 70), 2))
    created.undo(store)
    assert not store.thumb_path(added).exists() and not store.path(added).exists()
    assert store.thumb_path(kept).exists() and store.path(kept).exists()
