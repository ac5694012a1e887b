"""QR codes of activities: unguessable tokens and their PNG and SVG images."""

from __future__ import annotations

import io
import secrets

import qrcode
import qrcode.image.svg

from infra import storage

# No look-alikes: no 0/O, 1/I/L.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TOKEN_LENGTH = 12  # 31^12 ≈ 7.9e17 (59 bits)


def new_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH))


def is_token(text: str) -> bool:
    return len(text) == TOKEN_LENGTH and all(c in ALPHABET for c in text)


def target_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/a/{token}"


def png_path(token: str) -> str:
    return f"qr/{token}.png"


def svg_path(token: str) -> str:
    return f"qr/{token}.svg"


def render_png(url: str) -> bytes:
    image = qrcode.make(url, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def render_svg(url: str) -> bytes:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode").encode()


async def ensure_rendered(token: str, base_url: str) -> bool:
    """Write both images unless they exist; True if anything was written (idempotent)."""
    url = target_url(base_url, token)
    wrote = False
    if not await storage.exists(png_path(token)):
        await storage.save(png_path(token), render_png(url), "image/png")
        wrote = True
    if not await storage.exists(svg_path(token)):
        await storage.save(svg_path(token), render_svg(url), "image/svg+xml")
        wrote = True
    return wrote
