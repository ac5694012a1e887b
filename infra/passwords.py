"""argon2id password hashing, off the event loop (a hash costs tens of milliseconds)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
# A valid hash to verify against when the phone is unknown, so that timing does not tell.
_DUMMY_HASH = _hasher.hash("kepuri-dummy-password-1")


def configure(profile_name: str) -> None:
    """Pick an argon2 profile by name; tests use CHEAPEST, production the RFC 9106 default."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher.from_parameters(getattr(profiles, profile_name))
    _DUMMY_HASH = _hasher.hash("kepuri-dummy-password-1")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
