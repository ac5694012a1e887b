"""Uploaded images: type sniffed from the bytes, size capped, re-encoded without metadata."""

from __future__ import annotations

import asyncio
import io

from PIL import Image, ImageOps, UnidentifiedImageError

from services.errors import ErrorCode, ServiceError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2048
ACCEPTED = {"JPEG", "PNG", "WEBP", "GIF"}
Image.MAX_IMAGE_PIXELS = 60_000_000  # larger is a decompression bomb, refused


def _normalize(data: bytes, field: str) -> tuple[bytes, str]:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            probe.verify()
        if kind not in ACCEPTED:
            raise ServiceError.of(ErrorCode.INVALID_IMAGE, "仅支持JPEG、PNG、WebP或GIF图片", field)
        with Image.open(io.BytesIO(data)) as image:
            image.seek(0)
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            keep_alpha = upright.mode in ("RGBA", "LA") or "transparency" in upright.info
            out = io.BytesIO()
            if keep_alpha:
                upright.convert("RGBA").save(out, "PNG", optimize=True)
                return out.getvalue(), "png"
            upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
            return out.getvalue(), "jpg"
    except ServiceError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise ServiceError.of(ErrorCode.INVALID_IMAGE, "无法识别的图片文件", field) from exc


async def normalize_image(data: bytes, field: str) -> tuple[bytes, str]:
    """(re-encoded bytes, extension) of an uploaded image; EXIF and other metadata are dropped."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ServiceError.of(ErrorCode.IMAGE_TOO_LARGE, "图片不能超过10MB", field)
    return await asyncio.to_thread(_normalize, data, field)
