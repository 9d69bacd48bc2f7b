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


def open_storage(url: str) -> BlobStorage:
    """A backend from its URL: a directory path (or file://), or s3://bucket/prefix?endpoint=."""
    if url.startswith("s3://"):
        raise ValueError("S3 storage is not available in this version; use a directory")
    return LocalStorage(Path(url.removeprefix("file://")))
