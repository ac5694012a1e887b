"""Every file the platform writes or serves (posters, photos, QR images, documents, certificates
and their ZIPs), behind one interface with two backends, chosen by settings:

- `LocalStorage`, a folder (the embedded default, `MEDIA_DIR`): a file is written to a temporary
  name and renamed, so a reader never sees half of one;
- `S3Storage`, object storage through the S3 API (every Chinese cloud's object storage speaks it,
  as does MinIO), with boto3: an object appears whole when its upload completes, or not at all.

Files are named by relative paths (`posters/….jpg`) that never leave the root or the bucket.
Downloads go through the API, or, with `S3Storage(presign=…)`, are redirected to a time-limited
presigned URL of the object store, after the API has checked what it always checks.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from infra.settings import Settings

CHUNK = 256 * 1024


class StorageError(ValueError):
    """A path that would leave the root or the bucket."""


def clean(relative: str) -> str:
    """A relative path as stored (POSIX, inside the root), or StorageError."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or not pure.parts or any(p in ("..", ".", "") for p in pure.parts):
        raise StorageError(f"bad media path {relative!r}")
    if "\\" in relative or "\x00" in relative:
        raise StorageError(f"bad media path {relative!r}")
    return str(pure)


def is_clean(relative: str) -> bool:
    try:
        clean(relative)
    except StorageError:
        return False
    return True


# what is served publicly (posters, photos, QR images), by extension; nothing else is
PUBLIC_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".svg": "image/svg+xml"}


def public_type(relative: str) -> str | None:
    return PUBLIC_TYPES.get(PurePosixPath(relative).suffix)


def disposition(filename: str, fallback: str) -> str:
    """Content-Disposition of a download: an ASCII name for old clients, the real one in UTF-8."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''" + quote(filename)


class Storage(Protocol):
    def prepare(self) -> None:
        """Make ready what the backend needs before use (blocking; `kepuri migrate` calls it)."""
        ...

    async def save(self, relative: str, data: bytes, content_type: str = ...) -> str: ...

    async def read(self, relative: str) -> bytes | None: ...

    async def exists(self, relative: str) -> bool: ...

    async def delete(self, relative: str) -> None: ...

    async def response(
        self, relative: str, media_type: str, headers: Mapping[str, str]
    ) -> Response | None:
        """The file as an HTTP answer (None if there is none): sent by the API, or a redirect
        to where the object store sends it."""
        ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        """Nothing: folders are made as files are written."""

    def path(self, relative: str) -> Path:
        return self.root.joinpath(*PurePosixPath(clean(relative)).parts)

    def _write(self, relative: str, data: bytes) -> None:
        target = self.path(relative)
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

    async def save(
        self, relative: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        await asyncio.to_thread(self._write, relative, data)
        return clean(relative)

    def _read(self, relative: str) -> bytes | None:
        try:
            return self.path(relative).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    async def read(self, relative: str) -> bytes | None:
        return await asyncio.to_thread(self._read, relative)

    async def exists(self, relative: str) -> bool:
        return self.path(relative).is_file()

    async def delete(self, relative: str) -> None:
        self.path(relative).unlink(missing_ok=True)

    async def response(
        self, relative: str, media_type: str, headers: Mapping[str, str]
    ) -> Response | None:
        path = self.path(relative)
        if not path.is_file():
            return None
        return FileResponse(path, media_type=media_type, headers=dict(headers))


@dataclass(frozen=True)
class S3Config:
    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    path_style: bool = False
    presign_seconds: int = 0  # 0: downloads go through the API; else presigned URLs this long


class S3Storage:
    """Objects in one bucket, with boto3's client (thread-safe; its calls run in threads)."""

    def __init__(self, config: S3Config) -> None:
        import boto3
        from botocore.config import Config

        self.config = config
        self.bucket = config.bucket
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=config.endpoint_url or None,
            region_name=config.region,
            aws_access_key_id=config.access_key,
            aws_secret_access_key=config.secret_key,
            config=Config(
                s3={"addressing_style": "path" if config.path_style else "virtual"},
                signature_version="s3v4",
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 4, "mode": "standard"},
                max_pool_connections=32,
            ),
        )

    @staticmethod
    def _missing(exc: Exception) -> bool:
        from botocore.exceptions import ClientError

        if not isinstance(exc, ClientError):
            return False
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    async def save(
        self, relative: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        key = clean(relative)
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
        )
        return key

    def _get(self, key: str) -> Any:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if self._missing(exc):
                return None
            raise

    async def read(self, relative: str) -> bytes | None:
        found = await asyncio.to_thread(self._get, clean(relative))
        if found is None:
            return None
        body = found["Body"]
        try:
            return await asyncio.to_thread(body.read)
        finally:
            body.close()

    def _head(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if self._missing(exc):
                return False
            raise
        return True

    async def exists(self, relative: str) -> bool:
        return await asyncio.to_thread(self._head, clean(relative))

    async def delete(self, relative: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=clean(relative))

    async def response(
        self, relative: str, media_type: str, headers: Mapping[str, str]
    ) -> Response | None:
        key = clean(relative)
        if self.config.presign_seconds:
            if not await asyncio.to_thread(self._head, key):
                return None
            params = {"Bucket": self.bucket, "Key": key, "ResponseContentType": media_type}
            if "Content-Disposition" in headers:
                params["ResponseContentDisposition"] = headers["Content-Disposition"]
            url = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=self.config.presign_seconds
            )
            # the redirect itself is not kept: the link it names expires
            return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
        found = await asyncio.to_thread(self._get, key)
        if found is None:
            return None
        body = found["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(body.read, CHUNK):
                    yield chunk
            finally:
                body.close()

        sized = {**headers, "Content-Length": str(found["ContentLength"])}
        return StreamingResponse(chunks(), media_type=media_type, headers=sized)

    def prepare(self) -> None:
        """Create the bucket if it is missing (development and tests; production's exists)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if not self._missing(exc):
                raise
            self.client.create_bucket(Bucket=self.bucket)


def from_settings(settings: Settings) -> Storage:
    """Object storage when a bucket is named, else the media folder."""
    if not settings.s3_bucket:
        return LocalStorage(settings.media_dir)
    return S3Storage(
        S3Config(
            endpoint_url=settings.s3_endpoint_url,
            bucket=settings.s3_bucket,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            path_style=settings.s3_path_style,
            presign_seconds=settings.media_presign_seconds,
        )
    )


_backend: Storage = LocalStorage(Path("var/media"))


def configure(backend: Storage) -> None:
    global _backend
    _backend = backend


def backend() -> Storage:
    return _backend


async def save(relative: str, data: bytes, content_type: str = "application/octet-stream") -> str:
    return await _backend.save(relative, data, content_type)


async def read(relative: str) -> bytes | None:
    return await _backend.read(relative)


async def exists(relative: str) -> bool:
    return await _backend.exists(relative)


async def delete(relative: str) -> None:
    await _backend.delete(relative)


async def response(relative: str, media_type: str, headers: Mapping[str, str]) -> Response | None:
    return await _backend.response(relative, media_type, headers)
