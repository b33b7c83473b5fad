"""Content-addressed images: `ImageRef` names an image by the sha256 of its PNG bytes."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from composer.core.errors import DataError

if TYPE_CHECKING:
    from PIL import Image


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
    leaves a half-written image behind.

    Example:
        >>> store = ImageStore(tmp_path / "images")  # doctest: +SKIP
        >>> ref = store.put(Image.new("RGB", (8, 8)))  # doctest: +SKIP
        >>> store.open(ref).size  # doctest: +SKIP
        (8, 8)
    """

    def __init__(self, root: Path | str) -> None:
        """Use (and create) the folder `root`."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._folders: set[str] = set()

    def path(self, ref: ImageRef) -> Path:
        """Where the PNG of `ref` lives (it may not exist)."""
        return self.root / ref.sha256[:2] / f"{ref.sha256}.png"

    def __contains__(self, ref: ImageRef) -> bool:
        """Whether the store holds `ref`."""
        return self.path(ref).exists()

    def put_png(self, data: bytes) -> ImageRef:
        """Store PNG bytes as they are and return their reference."""
        ref = ImageRef(sha256=hashlib.sha256(data).hexdigest())
        target = self.path(ref)
        if not target.exists():
            if ref.sha256[:2] not in self._folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._folders.add(ref.sha256[:2])
            # Written under a unique name, then renamed: a killed run leaves no partial PNG.
            tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex[:12]}.tmp")
            with open(tmp, "xb") as handle:
                handle.write(data)
            os.replace(tmp, target)
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
        image.save(buffer, format="PNG", pnginfo=info)
        return self.put_png(buffer.getvalue())

    def put_file(self, path: Path | str) -> ImageRef:
        """Store an image file of any format Pillow reads, converted to PNG."""
        from PIL import Image, UnidentifiedImageError

        source = Path(path)
        if source.suffix.lower() == ".png":
            return self.put_png(source.read_bytes())
        try:
            with Image.open(source) as image:
                image.load()
                return self.put(image)
        except (OSError, UnidentifiedImageError) as exc:
            raise DataError(str(source), f"not a readable image ({exc}).") from exc

    def read_bytes(self, ref: ImageRef) -> bytes:
        """The PNG bytes of `ref`."""
        try:
            return self.path(ref).read_bytes()
        except FileNotFoundError as exc:
            raise DataError(
                f"image store {self.root}", f"no image {ref.uri}.", "Was the run folder moved?"
            ) from exc

    def open(self, ref: ImageRef) -> Image.Image:
        """Load `ref` as a PIL image (fully read, file closed)."""
        from PIL import Image

        image = Image.open(io.BytesIO(self.read_bytes(ref)))
        image.load()
        return image
