"""Learning from shoppers' words, with no I/O: which words may be learnt, and how many.

A shopper's question that an FAQ entry answered becomes a phrasing of that entry, so
the engine learns the way a shop's customers ask. Shoppers are anonymous and many, so
learning is bounded: per shopper, per entry and per time window, and a message that
carries contact data (links, emails, phone or card numbers, handles) teaches nothing:
those would be copied into every later suggestion's index, and they are personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

# A question, not a letter: longer messages are not kept (and never cut, so an erase
# finds exactly the words it must remove).
MAX_LEARNT_CHARS = 200
LEARN_WINDOW = timedelta(hours=1)
PER_SHOPPER = 3  # phrasings learnt from one shopper's words per window, over all entries
PER_ENTRY = 10  # phrasings one entry learns per window
MAX_LEARNT_PER_ENTRY = 200  # learnt phrasings an entry keeps; owners prune them
# Learnt phrasings reach the engine at most this often per site and process: one rebuild
# for a burst of learning, never one per phrasing. Owners' own changes apply at once.
LEARNT_REBUILD_INTERVAL = 30.0

_CONTACT = (
    re.compile(r"(?i)\b(?:https?://|ftp://|www\.)"),  # links
    # Bare domains ("tokoku.com/promo", "wa.me/62812"): a word, a dot, a known ending.
    re.compile(
        r"(?i)\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|id|co|io|me|ly|gl|gg|app|biz|info"
        r"|link|site|online|shop|store|xyz|my|sg|us|uk|tk|ml)\b"
    ),
    re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+"),  # emails
    re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{2,}"),  # social handles
    re.compile(r"(?:\+?\d[\s().-]{0,2}){7,}"),  # phone, card, account numbers
)


def learnable_text(body: str) -> str | None:
    """The words to keep as a phrasing, or None when this message teaches nothing."""
    text = " ".join(body.split())
    if not text or len(text) > MAX_LEARNT_CHARS:
        return None
    if any(pattern.search(text) for pattern in _CONTACT):
        return None
    return text


@dataclass(frozen=True, slots=True)
class LearningCounts:
    """What was learnt already: from this shopper and by this entry, within the window."""

    from_shopper: int
    by_entry_recently: int
    by_entry: int


def may_learn(counts: LearningCounts) -> bool:
    return (
        counts.from_shopper < PER_SHOPPER
        and counts.by_entry_recently < PER_ENTRY
        and counts.by_entry < MAX_LEARNT_PER_ENTRY
    )
