"""Images are bounded: dimensions checked before decoding, bombs refused, large inputs fitted.

The pixel limit is Pillow's own (`PIL.Image.MAX_IMAGE_PIXELS`); tests lower it with
monkeypatch so that a small image plays the bomb, instead of writing a real one.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from composer.core.errors import DataError
from composer.core.images import MAX_SIDE, ImageStore
from composer.report.drawings import make_thumb


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that claims `width` x `height` with almost no data: what a bomb looks like."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_bomb_is_refused_from_its_header_before_any_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 100_000, 100_000)  # 10 gigapixels, 30 GB decoded
    with pytest.raises(DataError, match=r"100000x100000 pixels, over the limit|bomb"):
        ImageStore(tmp_path / "store").put_file(bomb, where="GEU_direct.json index 3")
    assert not list((tmp_path / "store").rglob("*.png")), "nothing stored"


def test_pillows_limit_is_the_one_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50 * 50)
    Image.new("RGB", (60, 60)).save(tmp_path / "a.png")
    with pytest.raises(DataError, match="60x60 pixels, over the limit of 2,500"):
        ImageStore(tmp_path / "store").put_file(tmp_path / "a.png")


def test_a_large_input_is_fitted_and_its_original_kept(tmp_path: Path) -> None:
    side = MAX_SIDE + 952
    Image.new("RGB", (side, side // 2), (10, 20, 30)).save(tmp_path / "big.png")
    store = ImageStore(tmp_path / "store")
    ref = store.put_file(tmp_path / "big.png")
    assert store.open(ref).size == (MAX_SIDE, MAX_SIDE // 2)
    original = store.original(ref)
    assert original != ref
    assert store.read_bytes(original) == (tmp_path / "big.png").read_bytes()
    with Image.open(store.path(original)) as kept:
        assert kept.size == (side, side // 2)
    small = store.put_file(tmp_path / "big.png").sha256  # the same file: the same refs
    assert small == ref.sha256 and store.original(original) == original


def test_open_bounds_an_image_already_in_the_store(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    ref = store.put(Image.new("L", (MAX_SIDE * 2, 10)))
    assert max(store.open(ref).size) == MAX_SIDE


def test_a_bomb_in_a_shared_run_folder_is_a_data_error_on_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ImageStore(tmp_path)
    ref = store.put(Image.new("RGB", (40, 40)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(DataError, match="40x40 pixels, over the limit"):
        store.open(ref)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # above 2x: Pillow's own error
    with pytest.raises(DataError, match="decompression bomb"):
        store.open(ref)


def test_thumbnails_skip_a_bomb_instead_of_crashing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 100_000, 100_000)
    assert make_thumb(bomb, tmp_path / "t.jpg") is False
    Image.new("RGB", (40, 40)).save(tmp_path / "b.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # above 2x: Pillow's own error
    assert make_thumb(tmp_path / "b.png", tmp_path / "t2.jpg") is False


def test_an_image_between_the_limit_and_twice_it_gets_composers_message_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    """Past MAX_IMAGE_PIXELS (not yet twice it) Pillow warns on stderr as it opens the file;
    composer refuses it right after with its own message, so the raw warning is not shown."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50 * 50)
    _png_header_only(tmp_path / "big.png", 60, 60)  # 3,600 pixels: a warning, not an error
    store = ImageStore(tmp_path / "store")
    with pytest.raises(DataError, match="60x60 pixels, over the limit of 2,500"):
        store.put_file(tmp_path / "big.png")
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]
