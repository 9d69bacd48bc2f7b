"""Public value types shared by the engine and its callers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One FAQ entry as the site owner curates it."""

    id: str
    question: str
    answer: str
    category: str = ""
    tags: tuple[str, ...] = ()
    lang: str = "id"  # "id" or "en"
    phrasings: tuple[str, ...] = ()  # alternate phrasings (added by hand or learnt)


@dataclass(frozen=True)
class Suggestion:
    """One ranked answer candidate for a shopper's message."""

    faq_id: str
    score: float  # calibrated confidence in [0, 1]
    matched_terms: tuple[str, ...]  # normalised terms that matched, for a "why" in the UI
