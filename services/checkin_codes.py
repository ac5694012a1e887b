"""Personal check-in codes that a venue's device verifies without a network.

A code names a person (by their account's number, never their phone) and the day it is good for
(China's date), signed with Ed25519. The server signs; a check-in device holds only the public
key, from its bundle, and checks a code offline. The key pair is derived from SECRET_KEY (HKDF),
so every process has the same one and no other secret is kept; changing SECRET_KEY changes it.
Codes rotate: each day's is another.

A code also carries a tag (HMAC-SHA256 of the payload, 16 bytes, its key derived from SECRET_KEY
too) that only the server can make or check: checking it costs a hundredth of verifying the
signature, and uploads of offline scans check hundreds of codes at a time. A device ignores it.

    KP1.<payload>.<signature>.<tag>      base64url each; payload: "<user id>|<YYYY-MM-DD>"
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


def _derived(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kepuri", info=purpose).derive(
        secret.encode()
    )


@functools.cache
def _signing_key(secret: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_derived(secret, b"check-in codes v1"))


@functools.cache
def _tag_key(secret: str) -> bytes:
    return _derived(secret, b"check-in code tags v1")


def _tag(secret: str, payload: bytes) -> bytes:
    return hmac.new(_tag_key(secret), payload, hashlib.sha256).digest()[:16]


def public_key(secret: str) -> bytes:
    """The raw 32-byte public key a device verifies codes with."""
    return _signing_key(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(secret: str) -> str:
    return hashlib.sha256(public_key(secret)).hexdigest()[:12]


def issue(secret: str, user_id: int, day: date) -> str:
    payload = f"{user_id}|{day.isoformat()}".encode()
    signature = _signing_key(secret).sign(payload)
    return f"{PREFIX}.{_b64(payload)}.{_b64(signature)}.{_b64(_tag(secret, payload))}"


def _parts(code: str) -> list[bytes] | None:
    """A code's payload, signature and tag, as written; None when it is not shaped as a code."""
    if not isinstance(code, str) or len(code) > MAX_LENGTH:
        return None
    parts = code.strip().split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    try:
        return [_unb64(part) for part in parts[1:]]
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
    payload, signature, _ = parts
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, payload)
    except (InvalidSignature, ValueError):
        return None
    return _content(payload)


def check(code: str, secret: str) -> CodeContent | None:
    """The server's `read`, by the code's tag."""
    parts = _parts(code)
    if parts is None:
        return None
    payload, _, tag = parts
    if not hmac.compare_digest(_tag(secret, payload), tag):
        return None
    return _content(payload)
