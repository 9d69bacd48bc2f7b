"""Uploads, the files messages carry, who may fetch them, and their deletion.

An upload arrives as a file in the storage's scratch directory (web/uploads.py streams
it there, never holding it whole in memory). Here its type is decided by its bytes,
images are re-encoded (services/images.py), the result is hashed and kept under its
content address, and a row records who uploaded it. A message claims uploads inside
its own write (ChatService.send); uploads nobody claimed within a day are swept.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from chat_server.domain import attachments as rules
from chat_server.domain.access import Viewer
from chat_server.domain.attachments import (
    Attachment,
    FileRefused,
    UploadLimits,
    UploadsThrottled,
    Variant,
)
from chat_server.domain.throttle import Allowance, TokenBucket, take_allowances
from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import format_time, new_id, new_secret, now_iso
from chat_server.services import images
from chat_server.services.file_storage import BlobStorage, blob_key, scratch_file
from chat_server.store import attachments as store
from chat_server.store import customers as customer_store
from chat_server.store.attachments import Blob
from chat_server.store.database import Database
from chat_server.store.sql import Tx

log = logging.getLogger(__name__)
SWEEP_INTERVAL = 3600.0


class SharedAllowances(Protocol):
    """Allowances every process draws on (bus/redis_limits.py); None: Redis is away."""

    async def take(self, allowances: Sequence[Allowance]) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Download:
    """What the file route sends: a local file or a stream, with its headers' facts."""

    name: str
    content_type: str
    path: Path | None
    key: str
    expires: int


class FileService:
    def __init__(
        self,
        db: Database,
        storage: BlobStorage,
        *,
        limits: UploadLimits | None = None,
        image_workers: int = 2,
    ) -> None:
        self.db = db
        self.storage = storage
        self.limits = limits or UploadLimits()
        # Upload allowances counted in this process; with Redis (`shared`) every process
        # draws on the same ones, and this process's count only while Redis is away.
        self.buckets: dict[str, TokenBucket] = {}
        self.shared: SharedAllowances | None = None
        # Decoding is CPU and memory: a few images at a time per process, the rest wait,
        # on threads of their own (few threads, few malloc arenas holding freed pixels).
        self._decoders = ThreadPoolExecutor(image_workers, thread_name_prefix="sapa-images")
        self.uploads = 0  # this process, for /metrics and bench/

    # -- uploading ------------------------------------------------------------

    async def max_bytes(self, site_id: str) -> int:
        return await store.max_upload(self.db, site_id)

    async def admit(self, viewer: Viewer) -> None:
        """Refuse an upload over its allowances before its body is read."""
        allowances = rules.upload_allowances(self.limits, viewer.site_id, viewer.kind, viewer.id)
        if not allowances:
            return
        wait = await self.shared.take(allowances) if self.shared is not None else None
        if wait is None:
            wait = take_allowances(self.buckets, allowances, time.monotonic(), 50_000)
        if wait:
            raise UploadsThrottled(wait)

    def scratch_file(self) -> Path:
        return scratch_file(self.storage)

    async def upload(self, viewer: Viewer, received: Path, name: str | None) -> Attachment:
        """Keep a received file (consumed either way) and record it as `viewer`'s upload."""
        made: list[Path] = [received]
        try:
            with open(received, "rb") as handle:  # noqa: ASYNC230 (16 bytes of a local file)
                head = handle.read(4096)
            if not head:
                raise FileRefused("the file is empty")
            content_type = rules.sniff(head)
            if content_type is None:
                raise FileRefused(
                    "only JPEG, PNG, WebP and GIF images, PDF and plain text files are taken",
                    ErrorCode.BAD_REQUEST,
                )
            clean = rules.clean_name(name, content_type)
            # An image that is also a page (HTML in a GIF's comment or after its end) is
            # refused outright, though re-encoding would drop the page anyway.
            if content_type in rules.IMAGE_TYPES and _has_markup(received):
                raise FileRefused("the file holds HTML or script as well")
            thumb: Path | None = None
            width = height = None
            final = received
            if content_type in rules.IMAGE_TYPES:
                final, thumb = self.scratch_file(), self.scratch_file()
                made += [final, thumb]
                done = await asyncio.get_running_loop().run_in_executor(
                    self._decoders, images.process, received, content_type, final, thumb
                )
                width, height = done.width, done.height
                thumb = thumb if done.thumb else None
            attachment, keys = await self._keep(
                viewer, Attachment("", clean, content_type, 0, "", width, height), final, thumb
            )
            made = [p for p in made if p not in (final, thumb)]
            await self._record(viewer, attachment, *keys)
            self.uploads += 1
            return attachment
        finally:
            for path in made:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    async def _keep(
        self, viewer: Viewer, facts: Attachment, final: Path, thumb: Path | None
    ) -> tuple[Attachment, tuple[str, str | None]]:
        """Hash and store the bytes; `facts` has the name, type and size in pixels."""
        digest, size = await asyncio.to_thread(_digest, final)
        key = blob_key(viewer.site_id, digest, rules.EXTENSIONS[facts.type])
        thumb_key = None
        if thumb is not None:
            thumb_digest, _ = await asyncio.to_thread(_digest, thumb)
            thumb_key = blob_key(viewer.site_id, thumb_digest, ".thumb.webp")
            await self.storage.put(thumb_key, thumb)
        await self.storage.put(key, final)
        attachment = replace(
            facts, id=new_id("att"), size=size, key=new_secret(24), thumb=thumb_key is not None
        )
        return attachment, (key, thumb_key)

    async def _record(
        self, viewer: Viewer, attachment: Attachment, key: str, thumb_key: str | None
    ) -> None:
        def job(conn: Tx) -> None:
            if not viewer.is_agent:
                # An upload is a visitor's action: it makes their record (erase finds it).
                customer_store.activate(conn, viewer.site_id, viewer.id)
            store.insert(
                conn, viewer.site_id, viewer.kind, viewer.id, attachment, key, thumb_key, now_iso()
            )

        await self.db.write(job)

    # -- fetching ------------------------------------------------------------

    async def download(
        self, attachment_id: str, variant: str, scope: str, expires: str, sig: str
    ) -> Download:
        """A file for a signed link; anything wrong is the same 404 (nothing to probe)."""
        gone = errors_not_found()
        if variant not in ("full", "thumb") or len(attachment_id) > 64:
            raise gone
        found = await store.get(self.db, attachment_id)
        if found is None or found.message_id is None:
            raise gone
        att = found.attachment
        v: Variant = "thumb" if variant == "thumb" else "full"
        if not rules.link_valid(att.key, att.id, v, scope, expires, sig, time.time()):
            raise gone
        if found.hidden and scope != "s":
            raise gone  # a moderator withdrew the message: its files go with it
        key = found.thumb_key if v == "thumb" else found.blob_key
        if key is None:
            raise gone
        content_type = "image/webp" if v == "thumb" else att.type
        return Download(att.name, content_type, self.storage.local_path(key), key, int(expires))

    # -- deleting ------------------------------------------------------------

    async def release(self, blobs: list[Blob]) -> None:
        """Delete blobs a committed deletion freed (after the commit: a rollback keeps them)."""
        for blob in blobs:
            await self.storage.delete(blob.key)

    async def sweep(self, now: datetime | None = None) -> int:
        """Delete uploads no message claimed within a day; answers how many went."""
        moment = (now or datetime.now(UTC)) - timedelta(seconds=rules.UNSENT_TTL)
        before = format_time(moment)
        total = 0
        while True:
            blobs, count = await self.db.write(lambda conn: _sweep_chunk(conn, before))
            await self.release(blobs)
            total += count
            if count == 0:
                return total

    def close(self) -> None:
        self._decoders.shutdown(wait=False, cancel_futures=True)

    async def run_sweeper(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeping unsent uploads failed")
            await asyncio.sleep(SWEEP_INTERVAL)

    async def export_zip(self, site_id: str, customer_id: str, data: dict[str, Any]) -> Path:
        """A scratch zip: `customer.json` and the customer's files under `files/` (the
        caller deletes it once sent). Built on disk: a customer's files may be large."""
        found = await store.of_customer(self.db, site_id, [customer_id])
        sources: list[tuple[str, Path]] = []
        for item in found:
            path = self.storage.local_path(item.blob_key)
            if path is None:
                path = self.scratch_file()
                with open(path, "wb") as out:  # noqa: ASYNC230 (a scratch file)
                    async for chunk in self.storage.read(item.blob_key):
                        out.write(chunk)
            sources.append((f"files/{item.attachment.id}-{item.attachment.name}", path))
        target = self.scratch_file()
        await asyncio.to_thread(_write_zip, target, data, sources)
        return target


def _write_zip(target: Path, data: dict[str, Any], sources: list[tuple[str, Path]]) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customer.json", json.dumps(data, ensure_ascii=False, indent=2))
        for name, path in sources:
            archive.write(path, name)


def _sweep_chunk(conn: Tx, before: str) -> tuple[list[Blob], int]:
    return store.delete_unsent(conn, before)


def errors_not_found() -> SapaError:
    return SapaError(ErrorCode.NOT_FOUND, "no such file, or the link has expired")


def _digest(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _has_markup(path: Path) -> bool:
    """Markup where browsers and polyglots put it: the first and last KB.

    (The whole of a large photo would match markup by chance about once in a thousand.)
    """
    with open(path, "rb") as handle:
        head = handle.read(1024)
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 1024))
        return rules.has_markup(head) or rules.has_markup(handle.read())
