"""Files the platform serves publicly (posters, photos, QR codes) under one media root.

Production mounts the same volume in API and worker containers; paths are relative and never
leave the root.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path, PurePosixPath

_root = Path("var/media")


def configure(root: Path) -> None:
    global _root
    _root = root


def root() -> Path:
    return _root


def resolve(relative: str) -> Path | None:
    """The file behind a relative path, or None for anything that would leave the root."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return None
    return _root.joinpath(*pure.parts)


def _write(relative: str, data: bytes) -> None:
    target = resolve(relative)
    if target is None:
        raise ValueError(f"bad media path {relative!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a reader never sees half a file; a write that fails (a full disk)
    # leaves no temporary file behind.
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


async def save(relative: str, data: bytes) -> str:
    await asyncio.to_thread(_write, relative, data)
    return relative


def exists(relative: str) -> bool:
    target = resolve(relative)
    return target is not None and target.is_file()
