"""Content-addressed images: `ImageRef` names an image by the sha256 of its PNG bytes."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import warnings
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from composer.core.errors import DataError
from composer.core.thumbnails import (
    EXACT_MODES,
    THUMB_FOLDER,
    listed,
    thumbnail_jpeg,
    thumbnail_of,
    write_whole,
)

if TYPE_CHECKING:
    from PIL import Image

MAX_FILE_BYTES = 64 * 1024 * 1024
"""An image file larger than this is refused before it is read."""
MAX_SIDE = 2048
"""The longest side of an image handed to a model. A larger input is kept in the store as it
is, and a copy fitted into MAX_SIDE x MAX_SIDE is what instances and models use (the hosted
APIs downscale to about this anyway: OpenAI to 2048, Anthropic to 1568 px)."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
"""The last chunk of every PNG, with its checksum: a PNG without it was cut short."""
ORIGINAL_KEY = "composer:original"
"""PNG text chunk of a resized copy: the `sha256:` uri of the original it was made from."""


def _pixel_limit() -> int:
    """Pillow's decompression-bomb limit (`PIL.Image.MAX_IMAGE_PIXELS`), the one place to raise."""
    from PIL import Image

    return int(Image.MAX_IMAGE_PIXELS or 0) or 2**62


class ImageRef(BaseModel):
    """A reference to an image in an `ImageStore`: never the pixels themselves.

    Serialised as its `uri`, `sha256:<hex>`, in states, caches, logs and the run store.
    """

    model_config = ConfigDict(frozen=True)

    sha256: str

    @property
    def uri(self) -> str:
        """The canonical string form, `sha256:<hex>`."""
        return f"sha256:{self.sha256}"

    @classmethod
    def parse(cls, uri: str) -> ImageRef:
        """Read the `sha256:<hex>` form back."""
        if not uri.startswith("sha256:") or len(uri) != 71:
            raise DataError("image reference", f"not a sha256 reference ({uri!r}).")
        return cls(sha256=uri[7:])

    def __str__(self) -> str:
        """Return the uri."""
        return self.uri


class ImageStore:
    """A folder of PNG files named by their content hash (`ab/abcdef....png`).

    Putting the same pixels twice stores them once; writes are atomic, so a killed run never
    leaves a half-written image behind. Nothing is read or written through a link that leads
    out of the folder (a shared run folder may hold one): such an image is not there.

    Each image's report thumbnail is made when its pixels are in hand (`put`, `put_file`, the
    check of a model's reply bytes, `problem`) into `thumbs/ab/abcdef....jpg`; failing to make
    one fails nothing (the report makes it later).

    Example:
        >>> store = ImageStore(tmp_path / "images")  # doctest: +SKIP
        >>> ref = store.put(Image.new("RGB", (8, 8)))  # doctest: +SKIP
        >>> store.open(ref).size  # doctest: +SKIP
        (8, 8)
    """

    makes_thumbnails = True
    """Whether storing an image makes its thumbnail (a store whose images leave it as bytes,
    such as a Ray replica's, makes none)."""

    def __init__(self, root: Path | str, *, create: bool = True) -> None:
        """Use (and create, unless a reader says not to) the folder `root`."""
        self.root = Path(root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        self._real = self.root.resolve()
        self._prefix = f"{os.fspath(self.root)}{os.sep}"
        """The root's path as written, with a separator: what `_inside` checks part by part."""
        self._folders: set[Path] = set()
        self.written: list[Path] = []
        """Files this store object created (a rejected run removes them again)."""
        self._encoded: set[str] = set()
        """Digests of the images this store object encoded from pixels itself (`put`)."""
        self._thumbed: set[str] = set()
        """Digests whose thumbnail this store object has made, found, or failed to make."""

    @staticmethod
    def relative_path(ref: ImageRef) -> PurePosixPath:
        """Where the PNG of `ref` lives under a store's root: the store's one layout rule.

        Example:
            >>> str(ImageStore.relative_path(ImageRef(sha256="ab" + "0" * 62)))[:8]
            'ab/ab000'
        """
        return PurePosixPath(ref.sha256[:2], f"{ref.sha256}.png")

    def path(self, ref: ImageRef) -> Path:
        """Where the PNG of `ref` lives (it may not exist)."""
        return self.root / self.relative_path(ref)

    def thumb_path(self, ref: ImageRef) -> Path:
        """Where the JPEG thumbnail of `ref` lives (it may not exist): `thumbs/ab/abcdef....jpg`."""
        return self.root / THUMB_FOLDER / ref.sha256[:2] / f"{ref.sha256}.jpg"

    def thumbnails(self) -> dict[str, str]:
        """The file of every thumbnail the store holds, by image digest, read by listing it.

        Only files of the store's own count: a link, or a folder that is a link, holds none
        (composer makes neither), so nothing is read through a link out of the folder.
        """
        folder = self.root / THUMB_FOLDER
        return listed(folder) if folder.is_dir() and self._inside(folder) else {}

    def digests(self) -> set[str]:
        """The sha256 of every image the store holds, read by listing it (no file is opened).

        A link that leads out of the folder is not an image the store holds.
        """
        if not self.root.is_dir():
            return set()
        found: set[str] = set()
        with os.scandir(self.root) as folders:
            for folder in folders:
                if not folder.is_dir() or (folder.is_symlink() and not self._inside(folder.path)):
                    continue
                with os.scandir(folder.path) as files:
                    found.update(
                        entry.name.removesuffix(".png")
                        for entry in files
                        if entry.name.endswith(".png")
                        and (not entry.is_symlink() or self._inside(entry.path))
                    )
        return found

    def _inside(self, path: Path | str) -> bool:
        """Whether `path`, its links followed, lies inside the store's folder.

        A path under the root whose every part, the root included, exists and is no link is
        inside (the root was resolved when the store was made): a few `lstat` calls. Any other
        is resolved whole (`realpath`: an `lstat` for every part of the path, about 50 us on a
        path 8 folders deep, paid twice per judged image before).
        """
        text = os.fspath(path)
        if text.startswith(self._prefix):
            current = self._prefix[:-1]
            try:
                if not stat.S_ISLNK(os.lstat(current).st_mode):
                    for part in text[len(self._prefix) :].split(os.sep):
                        if part in ("", ".", ".."):
                            break
                        current = f"{current}{os.sep}{part}"
                        if stat.S_ISLNK(os.lstat(current).st_mode):
                            break
                    else:
                        return True
            except OSError:
                pass  # a part that is not there: resolved below, as before
        return Path(os.path.realpath(text)).is_relative_to(self._real)

    def _readable(self, ref: ImageRef) -> Path:
        """The file of `ref`, which must not be a link out of the folder (a `DataError`)."""
        path = self.path(ref)
        if not self._inside(path):
            raise DataError(
                f"image store {self.root}",
                f"{ref.uri} is a link to {os.path.realpath(path)!r}, outside the run folder; "
                "composer does not read through it.",
                "Replace the link with the image itself, or remove it and rerun the task.",
            )
        return path

    def __contains__(self, ref: ImageRef) -> bool:
        """Whether the store holds `ref`: a file of its own, not cut short.

        A link out of the folder is not held; a PNG must end with its end chunk (its last bytes
        only are read).
        """
        path = self.path(ref)
        if not path.is_file() or not self._inside(path):
            return False
        try:
            with open(path, "rb") as handle:
                head = handle.read(len(PNG_SIGNATURE))
                if head != PNG_SIGNATURE:
                    return True  # not a PNG: nothing cheap to check
                handle.seek(-len(PNG_END), os.SEEK_END)
                return handle.read() == PNG_END
        except OSError:
            return False

    def put_png(self, data: bytes) -> ImageRef:
        """Store PNG bytes as they are and return their reference."""
        ref = ImageRef(sha256=hashlib.sha256(data).hexdigest())
        target = self.path(ref)
        # A link is replaced, never written to; a file of other bytes than its name says
        # (cut short) is written again.
        if not target.is_file() or target.is_symlink() or target.stat().st_size != len(data):
            if not self._folder_for(target):
                raise DataError(
                    f"image store {self.root}",
                    f"{target.parent.name}/ is a link to "
                    f"{os.path.realpath(target.parent)!r}, outside the run folder; "
                    "composer does not write through it.",
                    "Replace the link with a folder of its own.",
                )
            write_whole(target, data)  # a killed run leaves no partial PNG
            self.written.append(target)
        return ref

    def put(self, image: Image.Image, *, text: dict[str, str] | None = None) -> ImageRef:
        """Encode a PIL image as PNG and store it, with `text` as PNG text chunks.

        Without `text`, the text chunks of a PNG that was opened from disk are kept.
        """
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        chunks = text if text is not None else dict(getattr(image, "text", {}))
        for key, value in chunks.items():
            info.add_text(key, value)
        buffer = io.BytesIO()
        # compress_level 1: a fifth to a twentieth of the default level's encode time, for files
        # about twice as large (the encode was most of what storing a generated image cost).
        image.save(buffer, format="PNG", pnginfo=info, compress_level=1)
        data = buffer.getvalue()
        ref = self.put_png(data)
        self._encoded.add(ref.sha256)
        self._thumbnail(ref, image if image.mode in EXACT_MODES else data)
        return ref

    def _thumbnail(self, ref: ImageRef, source: Image.Image | bytes) -> None:
        """Write the thumbnail of `ref` from its pixels (or its PNG bytes) unless it is there.

        Written under a unique name, then renamed, like an image. Any failure leaves it
        unmade, never fails the caller: the report makes it from the stored image.
        """
        if not self.makes_thumbnails or ref.sha256 in self._thumbed:
            return
        self._thumbed.add(ref.sha256)  # made or found now, or not tried again by this object
        target = self.thumb_path(ref)
        try:
            found = os.lstat(target)
            if stat.S_ISREG(found.st_mode) and found.st_size > 0:
                return
        except OSError:
            pass  # not there yet
        try:
            if isinstance(source, bytes):
                data = thumbnail_of(io.BytesIO(source))
            else:
                data = thumbnail_jpeg(source)
            if data is None or not self._folder_for(target):
                return
            write_whole(target, data)
        except Exception:  # noqa: BLE001 - a thumbnail is a convenience: nothing may fail for it
            return
        self.written.append(target)

    def _folder_for(self, target: Path) -> bool:
        """Make the folder of an image or thumbnail `target`; False if it is a link out."""
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not self._inside(target.parent):
                return False
            self._folders.add(target.parent)
        return True

    def is_encoded_here(self, ref: ImageRef) -> bool:
        """Whether this store object encoded `ref` from pixels itself (`put`).

        Such an image is whole by construction: Pillow wrote every chunk, and the file was
        written under a temporary name and renamed. `problem` does not decode it again (a local
        model's drawings are checked for nothing; a hosted reply's bytes, `put_png`, are).
        """
        return ref.sha256 in self._encoded

    def put_file(self, path: Path | str, *, where: str | None = None) -> ImageRef:
        """Store an image file of any format Pillow reads, converted to PNG; return its ref.

        The file is checked before it is read whole (a regular file of at most MAX_FILE_BYTES),
        its dimensions before it is decoded (at most Pillow's `MAX_IMAGE_PIXELS`), and it is
        decoded once, so an input that is not a valid image fails here, at load, and not in
        the middle of a run. A file larger than MAX_SIDE is stored as it is, and the returned
        ref names a copy fitted into MAX_SIDE that records the original (`original`).

        Raises:
            DataError: `where` (or the path) and why the file is not a usable image.
        """
        source = Path(path)
        place = where or str(source)
        try:
            size = source.stat().st_size
            is_file = source.is_file()
        except (OSError, ValueError) as exc:
            raise DataError(place, f"{source.name} cannot be read ({exc}).") from None
        if not is_file:
            raise DataError(place, f"{str(source)!r} is not a file.", "Point it at an image.")
        if size > MAX_FILE_BYTES:
            raise DataError(
                place,
                f"{source.name} is {size / 2**20:.0f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB "
                "an image file may have.",
                "Resize or recompress it.",
            )
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise DataError(place, f"{source.name} cannot be read ({exc}).") from None
        image = _decode(data, place, source.name)
        try:
            if image.format == "PNG":
                stored = self.put_png(data)
                self._thumbnail(stored, image)  # these very bytes, decoded
            else:
                stored = self.put(image)
            if max(image.size) <= MAX_SIDE:
                return stored
            return self.put(_fitted(image), text={ORIGINAL_KEY: stored.uri})
        finally:
            image.close()

    def original(self, ref: ImageRef) -> ImageRef:
        """The full-size image a resized input was made from (`ref` itself if it was not)."""
        from PIL import Image

        with Image.open(self._readable(ref)) as image:
            uri = image.info.get(ORIGINAL_KEY)  # a tEXt chunk before the pixels: no decode
        return ImageRef.parse(uri) if isinstance(uri, str) else ref

    def problem(self, ref: ImageRef) -> str | None:
        """Why the stored `ref` is not one whole image (see `image_problem`), or None.

        A file that is not is removed: it is named by its own bytes, so no other reply can
        need it. An image this store encoded itself (`is_encoded_here`) is not read again.
        A whole PNG's thumbnail is made from the pixels decoded here.
        """
        if self.is_encoded_here(ref):
            return None
        data = self.read_bytes(ref)
        found, pixels = _examined(data)
        if found is not None:
            self.path(ref).unlink(missing_ok=True)
        elif pixels is not None:
            if data.startswith(PNG_SIGNATURE):  # another format decodes otherwise for a thumbnail
                self._thumbnail(ref, pixels)
            pixels.close()
        return found

    def holds_whole(self, value: Any) -> bool:
        """Whether every image `value` names (`sha256:` text, at any depth) is here and whole.

        Reads only (a stored output, before judging it again).
        """
        if isinstance(value, str):
            if not value.startswith("sha256:"):
                return True
            try:
                return image_problem(self.read_bytes(ImageRef.parse(value))) is None
            except (DataError, OSError):
                return False
        if isinstance(value, dict):
            return all(self.holds_whole(v) for v in value.values())
        if isinstance(value, list | tuple):
            return all(self.holds_whole(v) for v in value)
        return True

    def read_bytes(self, ref: ImageRef) -> bytes:
        """The PNG bytes of `ref`."""
        try:
            return self._readable(ref).read_bytes()
        except FileNotFoundError as exc:
            raise DataError(
                f"image store {self.root}", f"no image {ref.uri}.", "Was the run folder moved?"
            ) from exc

    def open(self, ref: ImageRef) -> Image.Image:
        """Load `ref` as a PIL image (fully read, file closed), fitted into MAX_SIDE.

        The dimensions are checked before decoding, so a decompression bomb placed in a
        shared run folder is a `DataError`, not a process out of memory.
        """
        image = _decode(self.read_bytes(ref), f"image store {self.root}", ref.uri)
        return _fitted(image) if max(image.size) > MAX_SIDE else image


def image_problem(data: bytes) -> str | None:
    """Why `data` is not one whole image, or None when it is.

    The bytes must be a format Pillow reads, whole (`verify` checks every chunk and checksum,
    so a PNG cut short anywhere, even after its pixels, is caught) and decodable to pixels
    (`load`); a model's image reply is accepted only then.
    """
    found, pixels = _examined(data)
    if pixels is not None:
        pixels.close()
    return found


def _opened(data: bytes) -> Image.Image:
    """`Image.open` of `data` (lazy: the header only), without Pillow's bomb warning.

    Pillow warns on stderr for an image past `MAX_IMAGE_PIXELS` (and raises past twice
    that); every caller here checks the size against the same limit itself, right after,
    and refuses it with composer's own message, so the raw warning would only repeat it.
    """
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data))


def _examined(data: bytes) -> tuple[str | None, Image.Image | None]:
    """`image_problem` of `data`, and the pixels it decoded when there is none."""
    from PIL import Image, UnidentifiedImageError

    try:
        with _opened(data) as image:
            width, height = image.size
            if width * height > _pixel_limit():
                return f"{width}x{height} pixels, over the decompression-bomb limit", None
            image.verify()
        # verify() leaves an image unusable; a BytesIO needs no closing, so the decoded
        # pixels stay usable (a thumbnail is made from them).
        pixels = Image.open(io.BytesIO(data))
        pixels.load()
    except UnidentifiedImageError:
        return "not an image (no format Pillow reads)", None
    except Image.DecompressionBombError:
        return "a decompression bomb", None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError) as exc:
        return f"not a whole image ({type(exc).__name__}: {exc})", None
    if data.startswith(PNG_SIGNATURE) and PNG_END not in data:
        return "not a whole image (a PNG cut short: no end chunk)", None
    return None, pixels


def _decode(data: bytes, where: str, name: str) -> Image.Image:
    """Decode image bytes after checking their dimensions; every failure is a `DataError`."""
    from PIL import Image, UnidentifiedImageError

    limit = _pixel_limit()
    try:
        image = _opened(data)  # lazy: reads the header only
        width, height = image.size
        if width * height > limit:
            raise DataError(
                where,
                f"{name} is {width}x{height} pixels, over the limit of {limit:,} "
                "(a decompression bomb, or a scan far larger than any model reads).",
                "Resize it; a genuine huge image needs PIL.Image.MAX_IMAGE_PIXELS raised.",
            )
        image.load()
    except Image.DecompressionBombError as exc:  # Pillow's own check, at 2x its limit
        raise DataError(where, f"{name} is a decompression bomb ({exc}).", "Resize it.") from None
    except UnidentifiedImageError:
        raise DataError(
            where, f"{name} is not an image (no format Pillow reads).", "Use a PNG or JPEG file."
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise DataError(
            where,
            f"{name} is not a readable image ({type(exc).__name__}: {exc}).",
            "Replace it with a PNG or JPEG file.",
        ) from None
    return image


def _fitted(image: Image.Image) -> Image.Image:
    """`image` fitted into MAX_SIDE x MAX_SIDE in place (no second full-size copy)."""
    image.thumbnail((MAX_SIDE, MAX_SIDE), reducing_gap=3.0)
    return image
