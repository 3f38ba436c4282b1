"""Uploaded images: checked by decoding them, then re-encoded into a fixed set of renditions.

Every service that accepts an image (avatars, report screenshots, item images) passes
the uploaded bytes to `reencode_image` and keeps only the renditions it returns; the
original is never stored or served back. Anything wrong with an upload is an `Invalid`
(422) naming the form field, never a 500. Each guard is there for a reason:

- Size in bytes (`read_upload`, `max_bytes`): `read_upload` reads one byte more than
  allowed, so an oversized upload is told apart without ever being held whole.
- Format judged by content, JPEG, PNG or WebP only (`Image.open(formats=...)`): the
  filename and declared content type are the client's word, not a fact. Pillow's other
  parsers (GIF, BMP, TIFF, ...) are never run on the bytes, which keeps hostile input
  away from decoders nobody needs.
- Pixel count before decoding: a few kilobytes of compressed data can claim
  50000 x 50000 pixels (gigabytes once decoded). `Image.open` reads only the header,
  so the dimensions are checked against `max_pixels` before any pixel is decoded.
- Pillow's own bomb guard as an error: `Image.open` raises `DecompressionBombError`
  above twice `Image.MAX_IMAGE_PIXELS` but only *warns* above it, and a warning lets
  the decoding go on. Turned into an error, it is a second line of defence should a
  caller set `max_pixels` above Pillow's limit. (`warnings.catch_warnings` changes
  process-wide state and is not thread-safe; the `max_pixels` check above does not
  depend on it.)
- Every pixel decoded: a file whose header is fine but whose data is truncated or
  corrupt is refused here rather than stored to fail later in a browser. (This relies on
  Pillow's default `ImageFile.LOAD_TRUNCATED_IMAGES = False`; nothing may change it.)
- Any decoder failure is a refusal: hostile bytes reach C decoders and plugin parsers
  whose failures come as many exception types (OSError, SyntaxError, ValueError,
  struct.error, EOFError, IndexError, ...).
- EXIF orientation applied, then re-encoded from the pixels alone: photos carry GPS
  positions, camera serial numbers, XMP, ICC profiles and comments; encoding only the
  pixels drops them all, and applying the orientation first keeps the picture upright
  once the tag is gone.
- Always WebP out: the served bytes are ours, so their content type is known
  (`image/webp`) and nothing the uploader crafted (a polyglot that is also HTML or a
  script) survives.
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps

from servicekit.errors import Invalid

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
CONTENT_TYPE = "image/webp"
WEBP_QUALITY = 80
WEBP_METHOD = 4  # libwebp's own default effort; Pillow's default (0) makes larger files
WEBP_MAX_SIDE = 16383  # the format's limit

NOT_AN_IMAGE = "The image must be a JPEG, PNG or WebP file (judged by its content)."
UNREADABLE = "The image is damaged or incomplete and could not be decoded."
TOO_LARGE_TO_DECODE = "The image's dimensions are too large to decode safely."


@dataclass(frozen=True)
class Rendition:
    """One re-encoded size of an uploaded image."""

    size: int  # the size asked for: the side of the square, or of the box the image fits in
    width: int
    height: int
    content_type: str
    data: bytes


def read_upload(stream: BinaryIO, max_bytes: int, field: str = "image") -> bytes:
    """The upload's bytes; `Invalid` naming `field` if it has more than `max_bytes`, read no further."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _invalid(field, f"The image is larger than {max_bytes} bytes.")
    return data


def reencode_image(data: bytes, *, sizes: Sequence[int], square: bool, max_bytes: int,
                   max_pixels: int, field: str = "image") -> list[Rendition]:
    """The image re-encoded as WebP at each of `sizes`, in that order, without any metadata.

    `square=True` centre-crops to `size` x `size` (avatars); `square=False` fits the image
    within `size` x `size` keeping its aspect ratio, never enlarging it. An animated image
    gives its first frame. `Invalid` naming `field` if the upload is refused (see the module).
    `sizes` are the caller's constants, each from 1 to 16383 (WebP's limit); others are a ValueError.
    """
    if not sizes or not all(1 <= size <= WEBP_MAX_SIDE for size in sizes):
        raise ValueError(f"sizes must be 1 to {WEBP_MAX_SIDE} pixels, not {sizes!r}")
    if not data:
        raise _invalid(field, "The image is empty.")
    if len(data) > max_bytes:
        raise _invalid(field, f"The image is larger than {max_bytes} bytes.")
    pixels = _decode(data, largest=max(sizes), max_pixels=max_pixels, field=field)
    return [_rendition(pixels, size, square=square) for size in sizes]


def _decode(data: bytes, *, largest: int, max_pixels: int, field: str) -> Image.Image:
    """The image's pixels, upright, in RGB or RGBA, with no metadata left."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                _check_dimensions(image, max_pixels=max_pixels, field=field)
                # JPEG only: decode at the smallest 1/2, 1/4 or 1/8 scale still covering the largest
                # rendition (what Image.thumbnail does); every byte of the data is still decoded.
                image.draft(None, (largest, largest))
                image.load()
                pixels = _in_webp_mode(ImageOps.exif_transpose(image))
    except Invalid:
        raise
    except Image.UnidentifiedImageError as error:
        raise _invalid(field, NOT_AN_IMAGE) from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _invalid(field, TOO_LARGE_TO_DECODE) from error
    except Exception as error:  # whatever a decoder raises on hostile bytes is the client's 422, not our 500
        raise _invalid(field, UNREADABLE) from error
    pixels.info.clear()  # EXIF, XMP, ICC profile, comments: none may reach an encoder
    return pixels


def _check_dimensions(image: Image.Image, *, max_pixels: int, field: str) -> None:
    width, height = image.size
    if width < 1 or height < 1:  # Pillow's plugins refuse these today; a zero side would break the resizing
        raise _invalid(field, "The image has no pixels.")
    if width * height > max_pixels:
        raise _invalid(field, f"The image has more than {max_pixels} pixels.")


def _in_webp_mode(image: Image.Image) -> Image.Image:
    """RGBA if the image has any transparency (alpha, palette or colour key), else RGB: what WebP encodes."""
    if image.mode.startswith("I;16"):  # 16-bit grey: scaled to 8 bits, as a plain convert would clip it to white
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    mode = "RGBA" if image.has_transparency_data else "RGB"
    return image if image.mode == mode else image.convert(mode)


def _rendition(pixels: Image.Image, size: int, *, square: bool) -> Rendition:
    if square:
        resized = ImageOps.fit(pixels, (size, size), Image.Resampling.LANCZOS)
    else:
        resized = _fitted(pixels, size)
    out = io.BytesIO()
    resized.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return Rendition(size=size, width=resized.width, height=resized.height, content_type=CONTENT_TYPE,
                     data=out.getvalue())


def _fitted(pixels: Image.Image, size: int) -> Image.Image:
    """Within `size` x `size`, aspect ratio kept, never enlarged (that adds bytes, not detail).

    Not ImageOps.contain: it rounds a side of a very elongated image down to zero pixels,
    which no encoder accepts.
    """
    scale = min(1, size / pixels.width, size / pixels.height)
    if scale == 1:
        return pixels
    target = (max(1, round(pixels.width * scale)), max(1, round(pixels.height * scale)))
    return pixels.resize(target, Image.Resampling.LANCZOS)


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, errors={field: [message]})
