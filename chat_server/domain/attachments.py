"""Attachments without I/O: what a file is (by its bytes), names, signed links, limits.

A file's type is decided here from its first bytes, never from its name or the type the
client declared. Links to a file are signed with the attachment's own random key, so
anyone who may read a message gets working links and nothing else does; a link carries
its expiry and the scope it was made for (staff links still work on a hidden message).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from chat_server.domain.throttle import Allowance
from chat_server.errors import ErrorCode, SapaError

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
FILE_TYPES = (*IMAGE_TYPES, "application/pdf", "text/plain")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# What an owner may set a site's limit to (`max_upload_bytes`); refused bodies are read to
# their end up to 64 MB (web/uploads.py), so the highest limit stays below that.
UPLOAD_LIMIT_RANGE = (1024, 50 * 1024 * 1024)
MAX_PER_MESSAGE = 10
MAX_NAME_CHARS = 200
# Decoded images above this many pixels are refused before they are decoded
# (a 20,000 x 20,000 PNG is a few KB on the wire and 1.6 GB in memory).
MAX_PIXELS = 40_000_000
THUMB_SIZE = 320
LINK_TTL = 3600  # seconds a link works, rounded up to LINK_STEP so links stay cacheable
LINK_STEP = 600
UNSENT_TTL = 24 * 3600  # an upload no message refers to is deleted after this long

Scope = Literal["v", "s"]  # made for visitors (and everyone), or for staff only
Variant = Literal["full", "thumb"]

# Markup that turns a file into a page when a browser guesses: never in anything we keep.
_MARKUP = (b"<html", b"<script", b"<svg", b"<!doctype", b"<iframe", b"<body", b"<?xml", b"<head")


class FileRefused(SapaError):
    """An upload refused for what it is (its type, name, size or content)."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.BAD_REQUEST) -> None:
        super().__init__(code, message)


def sniff(head: bytes) -> str | None:
    """The type of a file from its first bytes (at least 16), or None when not allowed."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if looks_like_text(head):
        return "text/plain"
    return None


def looks_like_text(data: bytes) -> bool:
    """UTF-8 text without NULs or markup (an HTML page renamed .txt is not text)."""
    if not data or b"\x00" in data or has_markup(data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The head may cut a character in two: only an error before its last 3 bytes counts.
        return exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
    return True


def has_markup(data: bytes) -> bool:
    lowered = data.lower()
    return any(tag in lowered for tag in _MARKUP)


def clean_name(raw: str | None, content_type: str) -> str:
    """The name a file is kept and offered under; hostile names are refused, not repaired."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise FileRefused("the file name holds control characters")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise FileRefused("the file name must not be a path")
    if len(name) > MAX_NAME_CHARS:
        raise FileRefused(f"the file name is over {MAX_NAME_CHARS} characters")
    return name or "file" + EXTENSIONS[content_type]


EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}


def content_disposition(name: str, content_type: str) -> str:
    """Images show in the page; everything else downloads (RFC 6266 with a UTF-8 name)."""
    kind = "inline" if content_type in IMAGE_TYPES else "attachment"
    fallback = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "._-" else "_" for ch in name)
    return f"{kind}; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- signed links ------------------------------------------------------------


def signature(key: str, attachment_id: str, variant: Variant, scope: Scope, expires: int) -> str:
    text = f"{attachment_id}/{variant}/{scope}/{expires}".encode()
    return hmac.new(key.encode(), text, hashlib.sha256).hexdigest()[:32]


def link_valid(
    key: str,
    attachment_id: str,
    variant: Variant,
    scope: str,
    expires: str,
    sig: str,
    now: float,
) -> bool:
    if scope not in ("v", "s") or not expires.isdigit() or len(expires) > 12:
        return False
    expected = signature(key, attachment_id, variant, scope, int(expires))  # type: ignore[arg-type]
    return hmac.compare_digest(expected, sig) and int(expires) > now


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """Where links point (a separate origin for files, or this server) and how long they work."""

    origin: str = ""
    ttl: int = LINK_TTL

    def expires(self, now: float) -> int:
        return int(math.ceil((now + self.ttl) / LINK_STEP) * LINK_STEP)


# Set once at start-up from the settings (`SAPA_FILES_URL`, `SAPA_FILES_LINK_TTL`).
links = LinkPolicy()


def set_link_policy(policy: LinkPolicy) -> None:
    global links
    links = policy


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file as a message carries it. `key` signs its links and never leaves the server."""

    id: str
    name: str
    type: str
    size: int
    key: str
    width: int | None = None
    height: int | None = None
    thumb: bool = False

    @property
    def is_image(self) -> bool:
        return self.type in IMAGE_TYPES

    def describe(self) -> dict[str, Any]:
        """What an upload answers: no links yet (the file is not in any message)."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        out["size"] = self.size
        if self.width is not None:
            out["width"], out["height"] = self.width, self.height
        return out

    def as_dict(self, scope: Scope = "v", now: float | None = None) -> dict[str, Any]:
        expires = links.expires(time.time() if now is None else now)
        out = self.describe()
        out["url"] = self.link("full", scope, expires)
        if self.thumb:
            out["thumb_url"] = self.link("thumb", scope, expires)
        return out

    def link(self, variant: Variant, scope: Scope, expires: int) -> str:
        sig = signature(self.key, self.id, variant, scope, expires)
        return f"{links.origin}/files/{self.id}/{variant}?e={expires}&s={scope}&sig={sig}"

    def stored(self) -> dict[str, Any]:
        """Its form inside the message row (read back by `from_stored`)."""
        return {**self.describe(), "key": self.key, "thumb": self.thumb}

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Attachment:
        return cls(
            data["id"],
            data["name"],
            data["type"],
            data["size"],
            data["key"],
            data.get("width"),
            data.get("height"),
            bool(data.get("thumb")),
        )


def check_for_message(
    attachments: list[Attachment], *, visitor: bool, public_room: bool, room_allows_images: bool
) -> None:
    """Public rooms: staff may post any file; visitors images only, and only where allowed."""
    if not (visitor and public_room) or not attachments:
        return
    if not room_allows_images:
        raise SapaError(ErrorCode.FORBIDDEN, "this room does not take visitors' images")
    if any(not a.is_image for a in attachments):
        raise SapaError(ErrorCode.FORBIDDEN, "visitors may post images only in public rooms")


def upload_limit(value: Any) -> int:
    """A site's upload limit as an owner sets it (`max_upload_bytes`), in bytes."""
    low, high = UPLOAD_LIMIT_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SapaError(
            ErrorCode.BAD_REQUEST, f"'max_upload_bytes' must be a whole number from {low} to {high}"
        )
    return value


# -- upload allowances ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """Uploads a minute (0 turns a limit off), each in bursts of a third of it.

    A shopper's token has its own allowance, and all of a site's shoppers share one, so
    a flood from throwaway tokens still stops; agents have their own, larger allowance and
    never use up the shoppers' one (staff sending a catalogue must not lock shoppers out).
    """

    per_uploader: int = 30
    per_site: int = 300
    per_agent: int = 120


def _allowance(key: str, per_minute: int) -> Allowance:
    burst = float(max(1, per_minute // 3))
    return Allowance(key, per_minute / 60, burst, burst)


def upload_allowances(
    limits: UploadLimits, site_id: str, uploader_kind: str, uploader_id: str
) -> list[Allowance]:
    """Every allowance one upload takes from (none: no limit)."""
    if uploader_kind == "agent":
        return [_allowance(f"a:{uploader_id}", limits.per_agent)] if limits.per_agent else []
    out = []
    if limits.per_uploader:
        out.append(_allowance(f"c:{uploader_id}", limits.per_uploader))
    if limits.per_site:
        out.append(_allowance(f"s:{site_id}", limits.per_site))
    return out


class UploadsThrottled(SapaError):
    """Too many uploads: `retry_after` whole seconds until the next one may go."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, f"too many uploads; wait {retry_after} s")
        self.retry_after = retry_after
