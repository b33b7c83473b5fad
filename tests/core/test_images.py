from pathlib import Path

import pytest
from PIL import Image

from composer.core.errors import DataError
from composer.core.images import ImageRef, ImageStore


def test_same_pixels_same_ref_stored_once(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    a = store.put(Image.new("RGB", (4, 4), (255, 0, 0)))
    b = store.put(Image.new("RGB", (4, 4), (255, 0, 0)))
    c = store.put(Image.new("RGB", (4, 4), (0, 0, 255)))
    assert a == b != c
    assert len(list(tmp_path.rglob("*.png"))) == 2
    assert not list(tmp_path.rglob("*.tmp"))
    assert store.open(a).getpixel((0, 0)) == (255, 0, 0)


def test_refs_round_trip_as_uris(tmp_path: Path) -> None:
    ref = ImageStore(tmp_path).put(Image.new("L", (2, 2)))
    assert ImageRef.parse(ref.uri) == ref and str(ref).startswith("sha256:")
    with pytest.raises(DataError):
        ImageRef.parse("data:image/png;base64,AAAA")


def test_jpeg_inputs_are_stored_as_png(tmp_path: Path) -> None:
    source = tmp_path / "in.jpg"
    Image.new("RGB", (8, 8), (10, 200, 10)).save(source)
    store = ImageStore(tmp_path / "store")
    ref = store.put_file(source)
    assert store.read_bytes(ref)[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(DataError, match="bad.jpg is not an image"):
        (tmp_path / "bad.jpg").write_text("nope")
        store.put_file(tmp_path / "bad.jpg")


def test_missing_image_says_where(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no image sha256:"):
        ImageStore(tmp_path).read_bytes(ImageRef(sha256="0" * 64))
