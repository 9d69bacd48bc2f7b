"""Inverted index over FAQ entries with BM25F-style field weighting.

Each indexed term keeps a posting list of ``(slot, saturated weight)``. The
weight folds in the field weights and length normalisation, so it depends
only on the entry itself; the corpus-wide part (IDF) is applied at query
time from the posting length. That keeps an edit cheap: it rebuilds only the
posting lists of the edited entry's terms.

Snapshots are immutable. A writer builds a new snapshot (copying the
top-level maps and only the posting lists it changes) and swaps it in, so
readers on other threads never see a half-applied edit and need no lock.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from faq.analyzer import Analyzer
from faq.intent import asked
from faq.models import Entry

# Field weight and reference length (in terms) for length normalisation.
# The question and the owner's alternate phrasings say what the entry is
# about; tags are curated keywords; the answer is long and mentions
# neighbouring topics in passing, so it counts for much less.
FIELDS: dict[str, tuple[float, float]] = {
    "question": (1.0, 8.0),
    "phrasings": (1.0, 8.0),
    "tags": (0.7, 14.0),
    "answer": (0.25, 50.0),
}
K1 = 1.2
B = 0.5
BIGRAM_WEIGHT = 0.5


def bigrams(terms: list[str]) -> list[str]:
    return [f"{a} {b}" for a, b in itertools.pairwise(terms) if a != b]


@dataclass(frozen=True)
class Doc:
    """An indexed entry: its per-term weights and the terms of its key fields."""

    entry: Entry
    slot: int
    weights: dict[str, float]
    key_terms: frozenset[str]  # terms of question, phrasings and tags
    questions: tuple[frozenset[str], ...]  # primary terms of the question and each phrasing
    surfaces: tuple[str, ...]  # surface words, for the typo vocabulary
    asks: frozenset[str] = frozenset()  # question types of the question and phrasings


def analyse_entry(entry: Entry, analyzer: Analyzer, slot: int) -> Doc:
    tf: dict[str, float] = {}
    key_terms: set[str] = set()
    questions: list[frozenset[str]] = []
    surfaces: list[str] = []
    texts = {
        "question": [entry.question],
        "phrasings": list(entry.phrasings),
        "tags": list(entry.tags),
        "answer": [entry.answer],
    }
    for fname, parts in texts.items():
        weight, ref_len = FIELDS[fname]
        for part in parts:
            terms = analyzer.weighted_terms(part)
            surfaces.extend(analyzer.surface_text(part))
            if not terms:
                continue
            counts: dict[str, float] = {}
            for term, w in terms:
                counts[term] = counts.get(term, 0.0) + w
            primary = [t for t, w in terms if w >= 1.0]
            for bg in bigrams(primary):
                counts[bg] = counts.get(bg, 0.0) + BIGRAM_WEIGHT
            # Each tag and phrasing is normalised on its own length: they are
            # independent keywords, not one long text.
            norm = 1.0 - B + B * len(primary) / ref_len
            for term, c in counts.items():
                tf[term] = tf.get(term, 0.0) + weight * c / norm
            if fname != "answer":
                key_terms.update(t for t, _ in terms)
            if fname in ("question", "phrasings") and primary:
                questions.append(frozenset(primary))
    weights = {t: v * (K1 + 1.0) / (v + K1) for t, v in tf.items()}
    asks = frozenset().union(*(asked(q, analyzer) for q in (entry.question, *entry.phrasings)))
    return Doc(entry, slot, weights, frozenset(key_terms), tuple(questions), tuple(surfaces), asks)


class Posting:
    """Entries holding one term: parallel arrays of slots and saturated weights.

    Arrays rather than a dict so that a query adds a whole posting list into
    the score accumulator in one vectorised step; a common word at 10,000
    entries has several thousand postings.
    """

    __slots__ = ("_pairs", "slots", "weights")

    def __init__(self, slots: np.ndarray, weights: np.ndarray) -> None:
        self.slots = slots
        self.weights = weights
        self._pairs: tuple[tuple[int, float], ...] | None = None

    def pairs(self) -> tuple[tuple[int, float], ...]:
        """``(slot, weight)`` as Python numbers, for adding a short list without numpy."""
        if self._pairs is None:
            self._pairs = tuple(zip(self.slots.tolist(), self.weights.tolist(), strict=True))
        return self._pairs

    def __len__(self) -> int:
        return len(self.slots)

    def changed(self, drop: set[int], add: list[tuple[int, float]]) -> Posting | None:
        """A new posting without ``drop`` and with ``add`` (None if empty)."""
        slots, weights = self.slots, self.weights
        if drop:
            keep = ~np.isin(slots, np.fromiter(drop, dtype=np.int32, count=len(drop)))
            slots, weights = slots[keep], weights[keep]
        if add:
            slots = np.concatenate([slots, np.fromiter((a for a, _ in add), np.int32, len(add))])
            weights = np.concatenate(
                [weights, np.fromiter((w for _, w in add), np.float64, len(add))]
            )
        return Posting(slots, weights) if len(slots) else None


_EMPTY = Posting(np.empty(0, np.int32), np.empty(0, np.float64))


@dataclass(frozen=True)
class Snapshot:
    """One immutable state of the index."""

    docs: dict[str, Doc] = field(default_factory=dict)
    by_slot: dict[int, Doc] = field(default_factory=dict)
    postings: dict[str, Posting] = field(default_factory=dict)
    # Surface words of the entries by first letter, with document counts:
    # the vocabulary typo repair searches.
    surfaces: dict[str, dict[str, int]] = field(default_factory=dict)
    size: int = 0  # slots in use or free: the length of a score accumulator
    free: tuple[int, ...] = ()  # slots of removed entries, reused first
    # Per-snapshot memos, filled by queries. A term's IDF and an entry's question
    # mass change with every edit, and a snapshot is never edited: each is worked
    # out once per snapshot instead of once per message. Threads may race to fill
    # one; they write the same value.
    _idf: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    _question_mass: dict[int, tuple[tuple[frozenset[str], float], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __len__(self) -> int:
        return len(self.docs)

    def idf(self, term: str) -> float:
        known = self._idf.get(term)
        if known is not None:
            return known
        n = len(self.docs)
        posting = self.postings.get(term)
        df = len(posting) if posting is not None else 0
        value = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        if posting is not None:  # unseen terms are the caller's, and unbounded
            self._idf[term] = value
        return value

    def question_mass(self, doc: Doc) -> tuple[tuple[frozenset[str], float], ...]:
        """Each of the entry's questions with the sum of its terms' IDF."""
        known = self._question_mass.get(doc.slot)
        if known is None:
            known = tuple((q, sum(self.idf(t) for t in q)) for q in doc.questions)
            self._question_mass[doc.slot] = known
        return known

    def new_slots(self, count: int) -> list[int]:
        """Slots for ``count`` new entries: freed ones first, then fresh ones."""
        reuse = list(self.free[:count])
        return reuse + list(range(self.size, self.size + count - len(reuse)))

    def with_docs(self, add: Iterable[Doc], remove: Iterable[str]) -> Snapshot:
        """A new snapshot with ``remove`` taken out, then ``add`` put in.

        Only the posting lists of the terms involved are rebuilt; the maps
        are copied shallowly, so readers of this snapshot are undisturbed.
        """
        docs = dict(self.docs)
        by_slot = dict(self.by_slot)
        drops: dict[str, set[int]] = {}
        adds: dict[str, list[tuple[int, float]]] = {}
        surface_delta: dict[str, int] = {}
        free = set(self.free)
        for faq_id in remove:
            old = docs.pop(faq_id, None)
            if old is None:
                continue
            del by_slot[old.slot]
            free.add(old.slot)
            for term in old.weights:
                drops.setdefault(term, set()).add(old.slot)
            for word in set(old.surfaces):
                surface_delta[word] = surface_delta.get(word, 0) - 1
        size = self.size
        for doc in add:
            docs[doc.entry.id] = doc
            by_slot[doc.slot] = doc
            free.discard(doc.slot)
            size = max(size, doc.slot + 1)
            for term, w in doc.weights.items():
                adds.setdefault(term, []).append((doc.slot, w))
            for word in set(doc.surfaces):
                surface_delta[word] = surface_delta.get(word, 0) + 1

        postings = dict(self.postings)
        for term in drops.keys() | adds.keys():
            posting = postings.get(term, _EMPTY).changed(drops.get(term, set()), adds.get(term, []))
            if posting is None:
                postings.pop(term, None)
            else:
                postings[term] = posting

        surfaces = dict(self.surfaces)
        copied: set[str] = set()
        for word, delta in surface_delta.items():
            letter = word[0]
            if letter not in copied:
                surfaces[letter] = dict(surfaces.get(letter, {}))
                copied.add(letter)
            count = surfaces[letter].get(word, 0) + delta
            if count > 0:
                surfaces[letter][word] = count
            else:
                surfaces[letter].pop(word, None)
        return Snapshot(docs, by_slot, postings, surfaces, size, tuple(sorted(free)))
