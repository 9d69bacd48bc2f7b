"""Public-room rules with no I/O: display names, who may post when, room settings.

Callers pass the clock in, so every decision is a plain function of its inputs.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from chat_server.domain import confusables
from chat_server.domain.faq_rules import MAX_ANSWER, MAX_QUESTION, FaqFields
from chat_server.domain.throttle import TokenBucket
from chat_server.errors import ErrorCode, SapaError, bad_request, forbidden
from chat_server.ids import format_time

DEFAULT_ROOM_NAMES = {"id": "Tanya Jawab", "en": "Questions"}
MIN_NAME, MAX_NAME = 2, 40
MAX_ROOM_NAME = 80
MAX_SLOW_MODE = 3600  # seconds
MAX_MUTE_MINUTES = 7 * 24 * 60
MAX_POSITION = 1_000_000
HISTORY_DEFAULT, HISTORY_MAX = 30, 50
JOIN_HISTORY = 50
QUOTE_CHARS = 200
# "Unanswered" looks at a room's latest messages only, so counting stays cheap in busy rooms.
UNANSWERED_WINDOW = 1000
# Visitors' posts across a site's public rooms: bursts of 5, then one every 6 s (5 per 30 s).
POST_BURST = 5
POST_WINDOW = 30.0


def default_room_name(locale: str) -> str:
    return DEFAULT_ROOM_NAMES.get(locale, DEFAULT_ROOM_NAMES["en"])


# -- display names ----------------------------------------------------------------

# Words that make a name look like the shop's staff, in Indonesian and English.
# Long ones match at the start or end of a word too ("AdminBudi", "BudiOfficial");
# short ones only as whole words ("CS Rina"), since they hide inside ordinary names.
STAFF_WORDS = (
    "admin",
    "administrator",
    "official",
    "ofisial",
    "staff",
    "moderator",
    "toko",
    "shop",
    "store",
    "owner",
    "pemilik",
    "penjual",
    "seller",
    "support",
    "customerservice",
    "helpdesk",
)
SHORT_STAFF_WORDS = ("cs", "mod", "staf", "adm", "olshop", "resmi", "sapa")
_PREFIX_MIN = 4

# Digits and symbols read as letters ("4dm1n"), after the confusable skeleton (which already
# reads '0' as 'o' and '1' as 'l'/'I'), and a few look-alikes it leaves apart.
_LEET = str.maketrans(
    {
        "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
        "α": "a", "ο": "o", "ι": "i", "ν": "v", "ρ": "p", "τ": "t", "κ": "k", "ѵ": "v",
    }
)  # fmt: skip
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^a-z]+")
# Symbols read as letters stay inside their word ("@dm!n"); anything else that is not a
# letter, digit or mark separates words.
_LEET_SYMBOLS = str.maketrans({"@": "a", "$": "s", "!": "i", "|": "i", "€": "e", "£": "l"})
_SEPARATORS = re.compile(r"[\W_]+")


def clean_name(raw: str) -> str:
    """The name as shown: invisible and control characters dropped, spaces collapsed."""
    kept = "".join(ch for ch in raw if unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs"))
    return " ".join(kept.split())


def _dedupe(word: str) -> str:
    """'aaadmiiin' -> 'admin': repeated letters do not make a different word."""
    return re.sub(r"(.)\1+", r"\1", word)


def _comparable(token: str) -> str:
    # UTS #39 skeleton without case: '𝐑𝐢𝐧𝐚', 'ʀɪɴᴀ', 'Ꭱina' and 'Rlna' all read 'rina'.
    decomposed = unicodedata.normalize("NFKD", confusables.fold(token))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub("", plain.translate(_LEET))


def name_words(text: str, *, camel: bool = False) -> list[str]:
    """Comparable words: no case, accents, look-alikes or leet; runs of single letters joined.

    With `camel`, "CSRina" is two words ("cs", "rina").
    """
    # Accents go first, so that a mark never splits a word ("a\u0338dmin").
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if camel:
        text = _CAMEL.sub(" ", text)
    tokens = [t for t in _SEPARATORS.split(text.translate(_LEET_SYMBOLS)) if t]
    joined: list[str] = []
    letters = ""
    for token in tokens:  # "a d m i n" -> "admin"
        if len(token) == 1:
            letters += token
            continue
        if letters:
            joined.append(letters)
            letters = ""
        joined.append(token)
    if letters:
        joined.append(letters)
    words = (_comparable(token) for token in joined)
    return [_dedupe(w) for w in words if w]


def _contains_run(words: list[str], run: list[str]) -> bool:
    size = len(run)
    return size > 0 and any(words[i : i + size] == run for i in range(len(words) - size + 1))


@cache
def _staff_targets() -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """Staff words as names are compared: 'admin' reads 'adrnin' in skeletons ('m' is 'rn')."""

    def norm(word: str) -> str:
        return "".join(name_words(word))

    return tuple((w, norm(w)) for w in STAFF_WORDS), tuple((w, norm(w)) for w in SHORT_STAFF_WORDS)


def staff_word_in(words: list[str]) -> str | None:
    squashed = "".join(words)
    long_words, short_words = _staff_targets()
    for word, target in long_words:
        for candidate in (*words, squashed):
            if candidate == target:
                return word
            if len(target) >= _PREFIX_MIN and (
                candidate.startswith(target) or candidate.endswith(target)
            ):
                return word
    for word, target in short_words:
        if target in words or squashed == target:
            return word
    return None


def imitates(words: list[str], protected: str) -> bool:
    """Equal to, or containing, a protected name (an agent's, the shop's), word for word.

    Staff words in the protected name do not count: "Sari (Owner)" protects "Sari".
    """
    theirs = name_words(protected)
    own = [w for w in theirs if staff_word_in([w]) is None]
    for name in {tuple(theirs), tuple(own)}:
        if name and ("".join(words) == "".join(name) or _contains_run(words, list(name))):
            return True
    return False


def validate_display_name(raw: Any, protected_names: Iterable[str] = ()) -> str:
    """A visitor's public name, cleaned; refused when it is empty, too long or imitates staff."""
    if not isinstance(raw, str):
        raise bad_request("'name' must be a string")
    name = clean_name(raw)
    if not MIN_NAME <= len(name) <= MAX_NAME:
        raise bad_request(f"a display name has {MIN_NAME} to {MAX_NAME} characters")
    if not any(ch.isalpha() for ch in name):
        raise bad_request("a display name needs letters")
    variants = [name_words(name), name_words(name, camel=True)]
    for words in variants:
        word = staff_word_in(words)
        if word is not None:
            raise forbidden(f"names that look like the shop's staff are reserved ('{word}')")
    for protected in protected_names:
        if any(imitates(words, protected) for words in variants):
            raise forbidden("that name belongs to the shop's staff")
    return name


# -- posting ----------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def slow_mode_wait(slow_mode_seconds: int, last_post_at: datetime | None, now: datetime) -> int:
    """Whole seconds before a visitor may post again in a room (0: now)."""
    if slow_mode_seconds <= 0 or last_post_at is None:
        return 0
    left = slow_mode_seconds - (now - last_post_at).total_seconds()
    return max(0, math.ceil(left))


def mute_active(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now


def mute_until(now: datetime, minutes: int) -> datetime | None:
    """When a mute of `minutes` ends; None unmutes."""
    if not 0 <= minutes <= MAX_MUTE_MINUTES:
        raise bad_request(f"'minutes' must be from 0 to {MAX_MUTE_MINUTES}")
    return now + timedelta(minutes=minutes) if minutes else None


@dataclass(frozen=True, slots=True)
class VisitorPostState:
    """What the store knows about a visitor and a room when they post."""

    name: str | None
    archived: bool
    muted_until: datetime | None
    slow_mode_seconds: int
    last_post_at: datetime | None


def visitor_post_refusal(state: VisitorPostState, now: datetime) -> SapaError | None:
    """Why a visitor may not post in a public room now, or None when they may."""
    if state.archived:
        return forbidden("this room is archived")
    if not state.name:
        return forbidden("choose a display name first (profile)")
    if mute_active(state.muted_until, now):
        assert state.muted_until is not None
        return forbidden(f"you are muted in this room until {format_time(state.muted_until)}")
    wait = slow_mode_wait(state.slow_mode_seconds, state.last_post_at, now)
    if wait:
        return SapaError(ErrorCode.RATE_LIMITED, f"slow mode: wait {wait} s")
    return None


@dataclass(slots=True)
class PostThrottle:
    """Per-visitor posting rate in public rooms (one token bucket each, in this process)."""

    burst: float = POST_BURST
    window: float = POST_WINDOW
    max_keys: int = 50_000
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.burst / self.window

    def wait(self, key: str, now: float) -> int:
        """Take one post; 0 when allowed, else the whole seconds until the next one may go."""
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self._forget_idle(now)
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst)
        if bucket.take(now):
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def _forget_idle(self, now: float) -> None:
        # A bucket idle for a whole window is full again: forgetting it changes nothing.
        self.buckets = {k: b for k, b in self.buckets.items() if now - b.stamp < self.window}


# -- rooms -------------------------------------------------------------------------


def room_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("'name' must be a non-empty string")
    name = clean_name(raw)
    if not name or len(name) > MAX_ROOM_NAME:
        raise bad_request(f"'name' must be 1 to {MAX_ROOM_NAME} characters")
    return name


@dataclass(frozen=True, slots=True)
class RoomChanges:
    """Settings of a public room to change; None leaves a setting as it is."""

    name: str | None = None
    archived: bool | None = None
    position: int | None = None
    slow_mode_seconds: int | None = None
    pin: bool = False  # pinned_message_id was given (None in it unpins)
    pinned_message_id: str | None = None

    @property
    def owner_only(self) -> bool:
        return self.name is not None or self.archived is not None or self.position is not None

    @property
    def empty(self) -> bool:
        return not self.owner_only and self.slow_mode_seconds is None and not self.pin


def _bounded_int(data: dict[str, Any], key: str, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise bad_request(f"'{key}' must be an integer from 0 to {high}")
    return value


def room_changes(data: dict[str, Any], *, allow_pin: bool = True) -> RoomChanges:
    archived = data.get("archived")
    if archived is not None and not isinstance(archived, bool):
        raise bad_request("'archived' must be true or false")
    pin = allow_pin and "pinned_message_id" in data
    pinned = data.get("pinned_message_id") if pin else None
    if pinned is not None and (not isinstance(pinned, str) or not 0 < len(pinned) <= 128):
        raise bad_request("'pinned_message_id' must be a message id or null")
    changes = RoomChanges(
        name=room_name(data["name"]) if data.get("name") is not None else None,
        archived=archived,
        position=_bounded_int(data, "position", MAX_POSITION),
        slow_mode_seconds=_bounded_int(data, "slow_mode_seconds", MAX_SLOW_MODE),
        pin=pin,
        pinned_message_id=pinned,
    )
    if changes.empty:
        raise bad_request("nothing to change")
    return changes


def check_may_change(changes: RoomChanges, role: str) -> None:
    if changes.owner_only and role != "owner":
        raise forbidden("only the site's owners rename, archive or reorder rooms")


# -- FAQ from a question --------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def faq_draft(question: str, answer: str, lang: str) -> FaqFields:
    """A draft FAQ entry from a visitor's question and the staff answer to it."""
    return FaqFields(
        question=_clip(question, MAX_QUESTION),
        answer=_clip(answer, MAX_ANSWER),
        lang=lang if lang in ("id", "en") else "id",
        status="draft",
    )


def quote(body: str) -> str:
    return body[:QUOTE_CHARS]
