"""Where files' bytes live, behind one interface: a local directory, or shared storage.

Keys are content addresses made by the server (`site/ab/<sha256>.<ext>`), never from
user input, so a key names the same bytes forever: putting a key that exists keeps the
copy already there, and a blob is deleted only when no upload of its site names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit


def blob_key(site_id: str, digest: str, extension: str) -> str:
    return f"{site_id}/{digest[:2]}/{digest}{extension}"


class BlobStorage(Protocol):
    """What the file service needs of a storage backend."""

    def scratch(self) -> Path:
        """A local directory for uploads being received and processed."""
        ...

    async def put(self, key: str, source: Path) -> None:
        """Keep `source` (a file in `scratch()`, consumed) under `key`."""
        ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """The file on this host, when the backend keeps one (served with sendfile)."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks (backends without local files)."""
        ...


class LocalStorage:
    """A directory (`SAPA_FILES_DIR`); several processes of one host may share it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._scratch = root / ".incoming"
        self._scratch.mkdir(parents=True, exist_ok=True)

    def scratch(self) -> Path:
        return self._scratch

    def _path(self, key: str) -> Path:
        return self.root / key

    async def put(self, key: str, source: Path) -> None:
        await asyncio.to_thread(self._put, key, source)

    def _put(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as handle:
            os.fsync(handle.fileno())
        # Same key, same bytes: an atomic rename either way.
        os.replace(source, target)

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    async def read(self, key: str) -> AsyncIterator[bytes]:
        with open(self._path(key), "rb") as handle:  # noqa: ASYNC230 (short reads of a local file)
            while chunk := handle.read(64 * 1024):
                yield chunk


def scratch_file(storage: BlobStorage, suffix: str = "") -> Path:
    """A new empty file in the storage's scratch directory."""
    fd, name = tempfile.mkstemp(dir=storage.scratch(), suffix=suffix)
    os.close(fd)
    return Path(name)


class S3Storage:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph, R2...) through boto3, for several hosts.

    `s3://bucket/prefix?endpoint=https://minio:9000&region=us-east-1`; credentials from
    the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the URL's
    `s3://KEY:SECRET@bucket/...`. Uploads still arrive in a local scratch directory.
    """

    def __init__(self, url: str, scratch_dir: Path) -> None:
        import boto3  # an optional dependency (the `s3` extra): only needed here
        from botocore.config import Config

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.bucket = parts.hostname or ""
        self.prefix = parts.path.strip("/")
        if not self.bucket:
            raise ValueError("an S3 storage URL needs a bucket: s3://bucket/prefix")
        self.client = boto3.client(
            "s3",
            endpoint_url=query.get("endpoint") or None,
            region_name=query.get("region") or None,
            aws_access_key_id=unquote(parts.username) if parts.username else None,
            aws_secret_access_key=unquote(parts.password) if parts.password else None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
        )
        self._scratch = scratch_dir
        self._scratch.mkdir(parents=True, exist_ok=True)

    def scratch(self) -> Path:
        return self._scratch

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, source: Path) -> None:
        try:
            await asyncio.to_thread(
                self.client.upload_file, str(source), self.bucket, self._key(key)
            )
        finally:
            await asyncio.to_thread(source.unlink, missing_ok=True)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True

    def local_path(self, key: str) -> Path | None:
        return None

    async def read(self, key: str) -> AsyncIterator[bytes]:
        answer = await asyncio.to_thread(
            self.client.get_object, Bucket=self.bucket, Key=self._key(key)
        )
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, 256 * 1024):
                yield chunk
        finally:
            body.close()


def open_storage(url: str, scratch_dir: Path) -> BlobStorage:
    """A backend from its URL: a directory (or file://DIR), or s3://bucket/prefix?endpoint=."""
    if url.startswith("s3://"):
        return S3Storage(url, scratch_dir)
    return LocalStorage(Path(url.removeprefix("file://")))
