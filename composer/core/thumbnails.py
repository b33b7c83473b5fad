"""Thumbnails of stored images: the one rule by which the run and the report make them.

A run makes each image's thumbnail when it stores the image (`ImageStore.put`, where the
pixels are in hand), into `images/thumbs/`; the HTML report places those in its own folder and
makes only the missing ones, from the stored PNG, by the same `thumbnail_jpeg`. The two
therefore give the same bytes for the same image.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

THUMB = 64
"""Edge of the square box thumbnails are fitted into, in pixels."""
THUMB_FOLDER = "thumbs"
"""The folder of an image store's thumbnails, beside its image folders: no hex digest's first
two characters, so nothing that lists stored images (`ImageStore.digests`) takes it for one."""
EXACT_MODES = frozenset({"RGB", "RGBA", "L", "LA"})
"""Modes whose pixels a PNG keeps exactly: a thumbnail made from such an image in memory is
the one made from its stored PNG. Another mode (a palette may be cut to the bits its colours
need, `I` is stored as 16 bits) is thumbnailed from the PNG bytes themselves."""

_REDUCIBLE_AS = {"P": "RGBA", "1": "L", "I;16": "I", "I;16L": "I", "I;16B": "I", "I;16N": "I"}
"""Modes `Image.reduce` refuses, and the mode each is reduced in instead."""


def thumbnail_of(source: Path | IO[bytes]) -> bytes | None:
    """`thumbnail_jpeg` of the image file `source`, decoded as the report decodes it.

    An image over Pillow's pixel limit is not decoded (None). Raises what Pillow raises for a
    file it cannot read.
    """
    from PIL import Image

    with Image.open(source) as opened:
        if opened.size[0] * opened.size[1] > (Image.MAX_IMAGE_PIXELS or 2**62):
            return None  # a decompression bomb in a shared run folder: no thumbnail
        opened.draft("RGB", (THUMB, THUMB))  # JPEG sources decode at reduced size
        opened.load()
        return thumbnail_jpeg(opened)


def thumbnail_jpeg(image: Image.Image) -> bytes | None:
    """JPEG bytes (quality 85) of `image` fitted into THUMB x THUMB; None past Pillow's limit.

    Transparency is flattened onto white. `image` itself is not changed. Raises what Pillow
    raises for a mode it cannot reduce or encode (`ValueError`, `OSError`).
    """
    from PIL import Image

    if image.size[0] * image.size[1] > (Image.MAX_IMAGE_PIXELS or 2**62):
        return None  # a decompression bomb in a shared run folder: no thumbnail
    # reduce() is an integer box filter in C: nearly free next to a decode.
    factor = max(1, max(image.size) // THUMB)
    if factor > 1:
        # reduce() refuses palette, 1-bit and 16-bit modes: such an image large enough to need
        # it is reduced in the mode it would be flattened or shown in (no thumbnail before).
        image = image.convert(_REDUCIBLE_AS.get(image.mode, image.mode)).reduce(factor)
    elif max(image.size) > THUMB:
        image = image.copy()  # thumbnail() works in place, and the caller keeps its image
    image.thumbnail((THUMB, THUMB))
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode != "RGB":
        image = image.convert("RGB")
    encoded = io.BytesIO()
    image.save(encoded, format="JPEG", quality=85)
    return encoded.getvalue()


def write_whole(target: Path, data: bytes) -> None:
    """Write `data` to `target` under a unique name, then rename: never a partial file."""
    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def listed(folder: Path) -> dict[str, str]:
    """Every `<digest>.jpg` file in the subfolders of `folder`, by digest.

    Only plain files in plain folders: a link, or a folder that is a link, is passed over.
    """
    found: dict[str, str] = {}
    with os.scandir(folder) as parts:
        places = [part.path for part in parts if part.is_dir(follow_symlinks=False)]
    for place in places:
        with os.scandir(place) as files:
            for entry in files:
                if entry.name.endswith(".jpg") and entry.is_file(follow_symlinks=False):
                    found[entry.name[:-4]] = entry.path
    return found


def place_thumbs(pairs: list[tuple[str, str]]) -> list[bool]:
    """Put each ready thumbnail `source` at `target`: a hard link, or a copy where none can be.

    A link costs a quarter of a copy and keeps the report folder whole on its own (it is the
    file, not a pointer to the run folder); a report on another file system gets copies. False
    for a pair whose source is gone (the report makes that thumbnail from its image instead).
    """
    placed: list[bool] = []
    for source, target in pairs:
        try:
            try:
                os.link(source, target, follow_symlinks=False)
            except FileExistsError:
                pass  # made meanwhile (another report into the same folder): the same bytes
            except OSError:
                shutil.copyfile(source, target, follow_symlinks=False)
        except OSError:
            placed.append(False)
            continue
        placed.append(True)
    return placed
