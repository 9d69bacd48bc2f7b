"""Public-room rules with no I/O: display names, who may post when, room settings.

Callers pass the clock in, so every decision is a plain function of its inputs.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from chat_server.domain import confusables
from chat_server.domain.faq_rules import MAX_ANSWER, MAX_QUESTION, FaqFields
from chat_server.domain.throttle import Allowance, TokenBucket, take_allowances
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
# Every identity behind one client address, and every visitor of one room, share allowances.
ADDRESS_POSTS_PER_MINUTE = 10
ROOM_POSTS_PER_MINUTE = 30
# An identity with fewer public posts than this starts with one post, not a burst.
NEW_IDENTITY_POSTS = 3


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


@lru_cache(maxsize=8192)
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


@lru_cache(maxsize=1024)
def _protected_forms(protected: str) -> frozenset[tuple[str, ...]]:
    # The same agents' names are compared for every visitor: worked out once each.
    theirs = name_words(protected)
    own = [w for w in theirs if staff_word_in([w]) is None]
    return frozenset({tuple(theirs), tuple(own)})


def imitates(words: list[str], protected: str) -> bool:
    """Equal to, or containing, a protected name (an agent's, the shop's), word for word.

    Staff words in the protected name do not count: "Sari (Owner)" protects "Sari".
    """
    for name in _protected_forms(protected):
        if name and ("".join(words) == "".join(name) or _contains_run(words, list(name))):
            return True
    return False


def staff_refusal(name: str, protected_names: Iterable[str] = ()) -> SapaError | None:
    """Why a (clean) name may not be a visitor's: it looks like the shop's staff or the shop."""
    variants = [name_words(name), name_words(name, camel=True)]
    for words in variants:
        word = staff_word_in(words)
        if word is not None:
            return forbidden(f"names that look like the shop's staff are reserved ('{word}')")
    for protected in protected_names:
        if any(imitates(words, protected) for words in variants):
            return forbidden("that name belongs to the shop's staff")
    return None


def validate_display_name(raw: Any, protected_names: Iterable[str] = ()) -> str:
    """A visitor's public name, cleaned; refused when it is empty, too long or imitates staff."""
    if not isinstance(raw, str):
        raise bad_request("'name' must be a string")
    name = clean_name(raw)
    if not MIN_NAME <= len(name) <= MAX_NAME:
        raise bad_request(f"a display name has {MIN_NAME} to {MAX_NAME} characters")
    if not any(ch.isalpha() for ch in name):
        raise bad_request("a display name needs letters")
    refusal = staff_refusal(name, protected_names)
    if refusal is not None:
        raise refusal
    if is_generated_name(name):
        # Another visitor may carry that very name: choosing it would impersonate them.
        raise bad_request("names like 'Pembeli 7F3A' are given by the shop")
    return name


# Visitors who post before choosing a name post under a generated one, in the site's language.
GENERATED_PREFIXES = {"id": "Pembeli", "en": "Shopper"}
# Also reserved: the CRM's label for anonymous customers ("Pengunjung 7F3A").
_RESERVED_PREFIXES = (*GENERATED_PREFIXES.values(), "Pengunjung", "Visitor")
_GENERATED_SUFFIX = re.compile(r"[0-9A-Fa-f]{4,12}")


def is_generated_name(name: str) -> bool:
    parts = unicodedata.normalize("NFKC", name).split()
    if len(parts) != 2 or not _GENERATED_SUFFIX.fullmatch(parts[1]):
        return False
    return any(name_words(parts[0]) == name_words(prefix) for prefix in _RESERVED_PREFIXES)


def generated_names(customer_id: str, locale: str) -> Iterator[str]:
    """Candidate public names for a visitor who chose none: 'Pembeli 7F3A', then longer ones.

    Derived from the customer id, so a visitor keeps the same one; the caller takes the
    first that is free and imitates nobody (see `generated_name`).
    """
    prefix = GENERATED_PREFIXES.get(locale, GENERATED_PREFIXES["en"])
    digest = hashlib.sha256(customer_id.encode()).hexdigest().upper()
    for size in (4, 6, 8, 12):
        for start in range(0, len(digest) - size + 1, size):
            yield f"{prefix} {digest[start : start + size]}"


def generated_name(
    customer_id: str, locale: str, protected_names: Iterable[str], taken: Callable[[str], bool]
) -> str:
    """The first generated name that imitates no staff and that no other visitor holds."""
    protected = list(protected_names)
    for name in generated_names(customer_id, locale):
        # The prefix is the shop's word for a shopper ("Shopper" holds "shop"): check the rest.
        if staff_refusal(name.split()[1], protected) is None and not taken(name):
            return name
    # 2^48 names later: never in practice; still no exception on a send.
    return f"{GENERATED_PREFIXES.get(locale, GENERATED_PREFIXES['en'])} {customer_id[-12:]}"


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

    archived: bool
    muted_until: datetime | None
    slow_mode_seconds: int
    last_post_at: datetime | None


def visitor_post_refusal(state: VisitorPostState, now: datetime) -> SapaError | None:
    """Why a visitor may not post in a public room now, or None when they may."""
    if state.archived:
        return forbidden("this room is archived")
    if mute_active(state.muted_until, now):
        assert state.muted_until is not None
        return forbidden(f"you are muted in this room until {format_time(state.muted_until)}")
    wait = slow_mode_wait(state.slow_mode_seconds, state.last_post_at, now)
    if wait:
        return SapaError(ErrorCode.RATE_LIMITED, f"slow mode: wait {wait} s")
    return None


@dataclass(frozen=True, slots=True)
class PostLimits:
    """How fast visitors post in public rooms (0 turns a limit off).

    Throwaway identities are cheap, so a visitor's own allowance is not enough: every
    identity behind one client address shares one, so does every visitor of a room, and
    an identity with fewer than `new_identity_posts` public posts starts with one post
    instead of a full burst (its first posts come one every 6 s).
    """

    visitor_burst: int = POST_BURST
    visitor_window: float = POST_WINDOW
    per_address: int = ADDRESS_POSTS_PER_MINUTE  # per minute, bursts of as many
    per_room: int = ROOM_POSTS_PER_MINUTE  # per minute, bursts of as many
    new_identity_posts: int = NEW_IDENTITY_POSTS


@dataclass(frozen=True, slots=True)
class PostKey:
    """Who is posting where, as the throttle counts it."""

    visitor: str
    room: str
    address: str | None = None  # the client's address, when known
    new_identity: bool = False


@dataclass(slots=True)
class PostThrottle:
    """Posting allowances in public rooms: per visitor, per client address, per room.

    One token bucket per key, in this process (several processes each keep their own).
    """

    limits: PostLimits = field(default_factory=PostLimits)
    max_keys: int = 50_000
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def knows(self, visitor: str) -> bool:
        """Whether this visitor has an allowance here already (new identities start low)."""
        return f"v:{visitor}" in self.buckets

    def allowances(self, key: PostKey) -> list[Allowance]:
        """Every allowance a post by `key` takes one from."""
        lim = self.limits
        start = 1.0 if key.new_identity else float(lim.visitor_burst)
        out = [
            Allowance(
                f"v:{key.visitor}", lim.visitor_burst / lim.visitor_window, lim.visitor_burst, start
            )
        ]
        if lim.per_address and key.address:
            burst = float(lim.per_address)
            out.append(Allowance(f"a:{key.address}", burst / 60, burst, burst))
        if lim.per_room:
            burst = float(lim.per_room)
            out.append(Allowance(f"r:{key.room}", burst / 60, burst, burst))
        return out

    def wait(self, key: PostKey, now: float) -> int:
        """Take one post from every allowance; 0 when allowed, else the whole seconds until
        the next one may go (and nothing is taken)."""
        return take_allowances(self.buckets, self.allowances(key), now, self.max_keys)


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
    visitor_images: bool | None = None  # visitors may post images

    @property
    def owner_only(self) -> bool:
        return (
            self.name is not None
            or self.archived is not None
            or self.position is not None
            or self.visitor_images is not None
        )

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
    images = data.get("visitor_images")
    if images is not None and not isinstance(images, bool):
        raise bad_request("'visitor_images' must be true or false")
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
        visitor_images=images,
    )
    if changes.empty:
        raise bad_request("nothing to change")
    return changes


def check_may_change(changes: RoomChanges, role: str) -> None:
    if changes.owner_only and role != "owner":
        raise forbidden("only the site's owners rename, archive, reorder or open rooms to images")


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
