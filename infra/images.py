"""Uploaded images: type sniffed from the bytes, size capped, re-encoded without metadata.

Nothing is decoded before the header has been read and judged: an image whose header names
more pixels than `limits.max_pixels`, or whose first frame would take more memory decoded than
`limits.max_decoded_bytes`, is refused with IMAGE_TOO_LARGE, whatever its format. A few hundred
kilobytes of PNG can name a canvas of gigabytes; refusing it costs reading its first bytes.
Only the first frame of an animated image is decoded (a poster is a still picture), and a JPEG
is decoded at the smallest scale that still gives `MAX_SIDE` (libjpeg's draft mode).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from infra.errors import ServiceError


class ImageErrorCode(StrEnum):
    INVALID_IMAGE = "INVALID_IMAGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"


MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2048
ACCEPTED = {"JPEG", "PNG", "WEBP", "GIF"}


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 50_000_000  # a 50-megapixel phone photo still goes
    max_decoded_bytes: int = 256 * 1024 * 1024


limits = Limits()
# Pillow's own guard stays as a backstop above ours (it only warns below twice its limit).
Image.MAX_IMAGE_PIXELS = limits.max_pixels


def configure(max_pixels: int, max_decoded_bytes: int) -> None:
    global limits
    limits = Limits(max_pixels, max_decoded_bytes)
    Image.MAX_IMAGE_PIXELS = max_pixels


# Bytes per pixel as Pillow holds a mode in memory (RGB takes 4, like RGBA).
_STORED = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}


def decoded_bytes(size: tuple[int, int], mode: str) -> int:
    """What decoding takes at its peak: the image as decoded, plus its RGB(A) copy."""
    return size[0] * size[1] * (_STORED.get(mode, 4) + 4)


def _too_large(message: str, field: str) -> ServiceError:
    return ServiceError.of(ImageErrorCode.IMAGE_TOO_LARGE, message, field)


def _judge_header(image: Image.Image, field: str) -> None:
    """Refuse, from the header alone, what would be too many pixels or too much memory (for a
    JPEG, at the scale draft mode decodes it)."""
    width, height = image.size
    if width * height > limits.max_pixels:
        raise _too_large(
            f"图片像素过多（{width}×{height}），不能超过{limits.max_pixels // 1_000_000}百万像素",
            field,
        )
    _draft(image)
    if decoded_bytes(image.size, image.mode) > limits.max_decoded_bytes:
        raise _too_large(f"图片解码后过大（{width}×{height}，{image.mode}）", field)


def _draft(image: Image.Image) -> None:
    """A JPEG is decoded at the smallest scale that still gives MAX_SIDE (libjpeg's draft)."""
    if image.format == "JPEG":
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))


def _normalize(data: bytes, field: str) -> tuple[bytes, str]:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in ACCEPTED:
                raise ServiceError.of(
                    ImageErrorCode.INVALID_IMAGE, "仅支持JPEG、PNG、WebP或GIF图片", field
                )
            _judge_header(probe, field)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            _draft(image)  # judged above, from the same header
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            keep_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
            out = io.BytesIO()
            if keep_alpha:
                upright.convert("RGBA").save(out, "PNG", optimize=True)
                return out.getvalue(), "png"
            upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
            return out.getvalue(), "jpg"
    except ServiceError:
        raise
    except Image.DecompressionBombError as exc:
        raise _too_large("图片像素过多", field) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ServiceError.of(ImageErrorCode.INVALID_IMAGE, "无法识别的图片文件", field) from exc


class Upload(Protocol):
    """An uploaded file as the web framework hands it over (starlette's UploadFile)."""

    async def read(self, size: int = -1) -> bytes: ...


async def read_upload(upload: Upload, field: str) -> bytes:
    """The bytes of an uploaded image, refused once past MAX_UPLOAD_BYTES (by its declared size
    before reading, else after reading one byte more than that, never the rest)."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise _too_large("图片不能超过10MB", field)
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large("图片不能超过10MB", field)
    return data


async def normalize_image(data: bytes, field: str) -> tuple[bytes, str]:
    """(re-encoded bytes, extension) of an uploaded image; EXIF and other metadata are dropped.
    Decoding runs in a thread: the event loop goes on serving others meanwhile."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large("图片不能超过10MB", field)
    return await asyncio.to_thread(_normalize, data, field)
