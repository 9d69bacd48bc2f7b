"""Moving an installation's files to other storage (`sapa files copy`, `sapa db copy
--files-from/--files-to`): local directory to local directory, to an S3 bucket and back.

The database says which blobs exist (every upload's file and thumbnail); each is copied
unless the target holds it already (so a copy interrupted half way is simply run again),
and checked on the way: a key is its content's SHA-256, so bytes that do not hash to
their key are refused rather than copied. The servers must be stopped, as for `db copy`:
a file uploaded meanwhile could be left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from chat_server.errors import ErrorCode, SapaError
from chat_server.services.file_storage import BlobStorage, open_storage, scratch_file
from chat_server.store import attachments as store
from chat_server.store.database import Database

# (blobs looked at so far, blobs copied so far)
FilesProgressFn = Callable[[int, int], None]


@dataclass(slots=True)
class FilesCopyReport:
    copied: int = 0
    present: int = 0  # in the target already
    missing: list[str] = field(default_factory=list)  # named by the database, not in the source
    corrupt: list[str] = field(default_factory=list)  # bytes that do not hash to their key

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt


def key_digest(key: str) -> str:
    """The SHA-256 a blob key names (`site/ab/<sha256>.ext`, `<sha256>.thumb.webp`)."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


async def copy_files(
    db: Database,
    source: BlobStorage,
    target: BlobStorage,
    progress: FilesProgressFn = lambda seen, copied: None,
) -> FilesCopyReport:
    report = FilesCopyReport()
    after, seen = "", 0
    while page := await store.blobs_after(db, after):
        after = page[-1].id
        for upload in page:
            for key in (upload.blob_key, upload.thumb_key):
                if key is None:
                    continue
                seen += 1
                await _copy_one(key, source, target, report)
        progress(seen, report.copied)
    return report


async def _copy_one(
    key: str, source: BlobStorage, target: BlobStorage, report: FilesCopyReport
) -> None:
    if await target.exists(key):
        report.present += 1  # also a blob that several uploads name, met again
        return
    if not await source.exists(key):
        report.missing.append(key)
        return
    scratch = scratch_file(target)
    try:
        digest = await _fill(scratch, source, key)
        if digest != key_digest(key):
            report.corrupt.append(key)
            return
        await target.put(key, scratch)
    finally:
        scratch.unlink(missing_ok=True)
    report.copied += 1


async def _fill(scratch: Path, source: BlobStorage, key: str) -> str:
    """Copy the blob into `scratch`, answering the SHA-256 of what was written."""
    sha = hashlib.sha256()
    local = source.local_path(key)
    chunks: AsyncIterator[bytes] = _read_local(local) if local is not None else source.read(key)
    with open(scratch, "wb") as out:  # noqa: ASYNC230 (a scratch file; an offline command)
        async for chunk in chunks:
            sha.update(chunk)
            out.write(chunk)
    return sha.hexdigest()


async def _read_local(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as handle:  # noqa: ASYNC230 (an offline command)
        while chunk := handle.read(1024 * 1024):
            yield chunk


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[BlobStorage]:
    """Storage named as `SAPA_FILES_DIR` or `SAPA_FILES_STORAGE` would name it; a bucket's
    uploads pass through a scratch directory of its own, removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="sapa-files-copy-"))
    try:
        yield open_storage(url, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def copy_installation_files(
    db: Database, source_url: str, target_url: str, progress: FilesProgressFn
) -> FilesCopyReport:
    if source_url.rstrip("/") == target_url.rstrip("/"):
        raise SapaError(ErrorCode.BAD_REQUEST, "the files' source and target are the same")
    async with opened(source_url) as source, opened(target_url) as target:
        return await copy_files(db, source, target, progress)
