"""Images re-encoded with Pillow: metadata dropped, orientation applied, a thumbnail made.

Nothing a client sent is kept as it came: the pixels are decoded and written again, so
EXIF (GPS, camera serials), comments and anything appended after the image are gone.
Runs in a worker thread (CPU); size is checked from the header before any decoding.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from chat_server.domain.attachments import MAX_PIXELS, THUMB_SIZE, FileRefused

# Pillow's own bomb check, as an error rather than a warning.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
MAX_SIDE = 4096  # the longest side kept: a chat photo, not a print master
MAX_FRAMES = 200

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}


@dataclass(frozen=True, slots=True)
class Processed:
    width: int
    height: int
    thumb: bool  # a thumbnail was written (only when the image is larger than one)


def process(source: Path, content_type: str, out: Path, thumb_out: Path) -> Processed:
    """Decode `source`, write the clean image to `out` and maybe a WebP thumbnail."""
    expected = _FORMATS[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=[expected]) as image:
                return _reencode(image, expected, out, thumb_out)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileRefused(f"the image has more than {MAX_PIXELS:,} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise FileRefused(f"the image cannot be read ({type(exc).__name__})") from None


def _reencode(image: Image.Image, fmt: str, out: Path, thumb_out: Path) -> Processed:
    width, height = image.size
    if width * height > MAX_PIXELS or width < 1 or height < 1:
        raise FileRefused(f"the image has more than {MAX_PIXELS:,} pixels")
    frames = getattr(image, "n_frames", 1)
    if fmt == "GIF" and frames > 1:
        if frames > MAX_FRAMES or frames * width * height > 4 * MAX_PIXELS:
            raise FileRefused("the animation is too long")
        image.load()
        image.save(out, "GIF", save_all=True, optimize=False)
        first = image.copy()
    else:
        if fmt == "JPEG":
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode big photos at a fraction
        image.load()
        upright = ImageOps.exif_transpose(image)
        if max(upright.size) > MAX_SIDE:
            upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        _save(upright, fmt, out)
        first = upright
    width, height = first.size
    thumb = max(width, height) > THUMB_SIZE
    if thumb:
        small = first.convert("RGBA") if first.mode in ("P", "LA", "PA") else first
        small.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
        small.save(thumb_out, "WEBP", quality=80)
    return Processed(width, height, thumb)


def _save(image: Image.Image, fmt: str, out: Path) -> None:
    # Only the colour profile goes on (wide-gamut photos keep their colours); EXIF, XMP,
    # comments and text chunks are left behind.
    icc = image.info.get("icc_profile")
    image.info.clear()
    if icc:
        image.info["icc_profile"] = icc
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=85)
    elif fmt == "GIF":
        image.save(out, "GIF")
    else:
        image.save(out, "PNG", optimize=False)
