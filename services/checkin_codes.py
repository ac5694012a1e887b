"""Personal check-in codes that a venue's device verifies without a network.

A code names a person (by their account's number, never their phone) and the day it is good for
(China's date), signed with Ed25519. The server signs; a check-in device holds only the public
key, from its bundle, and checks a code offline. The key pair is derived from SECRET_KEY (HKDF),
so every process has the same one and no other secret is kept; changing SECRET_KEY changes it.
Codes rotate: each day's is another.

    KP1.<payload, base64url>.<signature, base64url>      payload: "<user id>|<YYYY-MM-DD>"
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX = "KP1"
MAX_LENGTH = 200


@dataclass(frozen=True)
class CodeContent:
    user_id: int
    day: date


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.cache
def _signing_key(secret: str) -> Ed25519PrivateKey:
    seed = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"kepuri", info=b"check-in codes v1"
    ).derive(secret.encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key(secret: str) -> bytes:
    """The raw 32-byte public key a device verifies codes with."""
    return _signing_key(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(secret: str) -> str:
    return hashlib.sha256(public_key(secret)).hexdigest()[:12]


def issue(secret: str, user_id: int, day: date) -> str:
    payload = f"{user_id}|{day.isoformat()}".encode()
    signature = _signing_key(secret).sign(payload)
    return f"{PREFIX}.{_b64(payload)}.{_b64(signature)}"


def _parts(code: str) -> tuple[bytes, bytes] | None:
    """A code's payload and signature, as written; None when it is not shaped as a code."""
    if not isinstance(code, str) or len(code) > MAX_LENGTH:
        return None
    parts = code.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    try:
        return _unb64(parts[1]), _unb64(parts[2])
    except (ValueError, binascii.Error):
        return None


def _content(payload: bytes) -> CodeContent | None:
    try:
        user, day = payload.decode().split("|")
        return CodeContent(int(user), date.fromisoformat(day))
    except (ValueError, UnicodeDecodeError):
        return None


def read(code: str, key: bytes) -> CodeContent | None:
    """What a code says, if `key` (a public key) signed it; None for anything else. This is all
    a device needs to check a code offline."""
    parts = _parts(code)
    if parts is None:
        return None
    payload, signature = parts
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, payload)
    except (InvalidSignature, ValueError):
        return None
    return _content(payload)


def check(code: str, secret: str) -> CodeContent | None:
    """The server's `read`: Ed25519 signing is deterministic (RFC 8032), and only the server
    signs, so a code is genuine exactly when signing its payload again gives its signature. That
    costs a third of verifying (which uploads of offline scans do hundreds at a time)."""
    parts = _parts(code)
    if parts is None:
        return None
    payload, signature = parts
    if not hmac.compare_digest(_signing_key(secret).sign(payload), signature):
        return None
    return _content(payload)
