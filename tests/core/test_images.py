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


def test_an_image_the_store_encoded_is_whole_and_bytes_from_elsewhere_are_checked(
    tmp_path: Path,
) -> None:
    store = ImageStore(tmp_path / "a")
    drawn = store.put(Image.new("RGB", (4, 4), (0, 128, 0)))
    assert store.is_encoded_here(drawn) and store.problem(drawn) is None
    data = store.read_bytes(drawn)
    other = ImageStore(tmp_path / "b")
    cut = other.put_png(data[:-20])  # a hosted reply cut short
    assert not other.is_encoded_here(cut)
    assert "not a whole image" in (other.problem(cut) or "")
    assert not other.path(cut).exists()  # removed: no reply can need it
    same = other.put_png(data)  # the same bytes from elsewhere are decoded, not trusted
    assert not other.is_encoded_here(same) and other.problem(same) is None


def test_links_are_followed_inside_the_store_and_refused_out_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = ImageStore("run/images")  # a relative root is checked as well as an absolute one
    red, blue = (store.put(Image.new("RGB", (2, 2), c)) for c in ((255, 0, 0), (0, 0, 255)))
    assert store.read_bytes(red) and red in store
    # The red image's file made a link to the blue one's, inside the folder: read through.
    store.path(red).unlink()
    store.path(red).symlink_to(store.path(blue).resolve())
    assert store.read_bytes(red) == store.read_bytes(blue) and red in store
    # The store's own folder moved out and replaced by a link, after the store was made.
    (tmp_path / "run" / "images").rename(tmp_path / "elsewhere")
    (tmp_path / "run" / "images").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert blue not in store
    with pytest.raises(DataError, match="outside the run folder"):
        store.read_bytes(blue)
