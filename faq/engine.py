"""The FAQ suggestion engine: index entries, rank them for a message, say how sure it is."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from faq import calibration
from faq.analyzer import MAX_CHARS
from faq.calibration import Features
from faq.index import BIGRAM_WEIGHT, Doc, Snapshot, analyse_entry, bigrams
from faq.lexicon import Lexicon
from faq.models import Entry, Suggestion
from faq.typos import TypoFixer


def _top(acc: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best (slot, score) pairs with a positive score, best first."""
    if len(acc) > k:
        idx = np.argpartition(-acc, k)[:k]
    else:
        idx = np.arange(len(acc))
    # Ties break on the slot so that results do not depend on argpartition.
    idx = idx[np.lexsort((idx, -acc[idx]))]
    return [(int(i), float(acc[i])) for i in idx if acc[i] > 0.0]


MIN_QUERY_MASS = 1.5


@dataclass(frozen=True)
class _State:
    snapshot: Snapshot
    typos: TypoFixer | None  # built lazily: most edits are never followed by a typo


@dataclass(frozen=True)
class Ranked:
    """One candidate with the evidence behind it."""

    entry: Entry
    score: float
    features: Features
    confidence: float
    matched_terms: tuple[str, ...]


class Engine:
    """Ranks FAQ entries for a shopper's message.

    Reads (:meth:`suggest`, :meth:`answer`) are lock-free and safe from many
    threads: they work on an immutable snapshot. Writes (:meth:`upsert`,
    :meth:`remove`) serialise on a lock and publish a new snapshot.
    """

    threshold: float = calibration.THRESHOLD

    def __init__(self, entries: Iterable[Entry] = (), lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon.default()
        self._analyzer = self.lexicon.analyzer
        self._write_lock = threading.Lock()
        self._state = _State(Snapshot(), None)
        self._write(list(entries), ())

    # -- writes -------------------------------------------------------------

    def _write(self, entries: list[Entry], remove: Iterable[str]) -> None:
        with self._write_lock:
            snap = self._state.snapshot
            latest = {e.id: e for e in entries}  # the last one wins within a batch
            fresh = iter(snap.new_slots(sum(1 for i in latest if i not in snap.docs)))
            docs: list[Doc] = []
            for entry in latest.values():
                old = snap.docs.get(entry.id)
                slot = old.slot if old is not None else next(fresh)
                docs.append(analyse_entry(entry, self._analyzer, slot))
            gone = [*latest, *remove]
            self._state = _State(snap.with_docs(docs, gone), None)

    def upsert(self, entry: Entry) -> None:
        """Add an entry, or replace the one with the same id."""
        self._write([entry], ())

    def remove(self, faq_id: str) -> None:
        """Forget an entry; unknown ids are ignored."""
        if faq_id in self._state.snapshot.docs:
            self._write([], (faq_id,))

    def __len__(self) -> int:
        return len(self._state.snapshot)

    def __contains__(self, faq_id: object) -> bool:
        return faq_id in self._state.snapshot.docs

    # -- reads --------------------------------------------------------------

    def _typos(self, state: _State) -> TypoFixer:
        if state.typos is not None:
            return state.typos
        fixer = TypoFixer(
            state.snapshot.surfaces,
            self._analyzer.lexicon_buckets,
            self._analyzer.dictionary_buckets,
        )
        with self._write_lock:
            if self._state is state:  # no edit meanwhile: keep it for later queries
                self._state = _State(state.snapshot, fixer)
        return fixer

    def _query(self, state: _State, text: str) -> list[tuple[str, float]]:
        postings = state.snapshot.postings
        fixer: TypoFixer | None = None

        def resolve(word: str, stem: str) -> str | None:
            nonlocal fixer
            if stem in postings:
                return None
            if fixer is None:
                fixer = self._typos(state)
            return fixer(word, stem)

        return self._analyzer.weighted_terms(text[:MAX_CHARS], resolve)

    def query_terms(self, text: str) -> list[str]:
        """Normalised terms of a message, typo-repaired against this index."""
        return list(dict.fromkeys(t for t, _ in self._query(self._state, text)))

    def rank(self, text: str, limit: int = 3) -> list[Ranked]:
        """Top ``limit`` candidates with scores, features and confidence."""
        state = self._state
        snap = state.snapshot
        if limit <= 0 or not snap.docs or not text:
            return []
        terms = self._query(state, text)
        if not terms:
            return []
        max_idf = math.log(1.0 + (len(snap.docs) + 0.5) / 0.5)  # IDF of an unseen term
        uni: dict[str, float] = {}
        for term, w in terms:
            uni[term] = max(uni.get(term, 0.0), w)
        query = dict(uni)
        for bg in bigrams([t for t, w in terms if w >= 1.0]):
            query[bg] = query.get(bg, 0.0) + BIGRAM_WEIGHT
        idf = {t: snap.idf(t) if t in snap.postings else max_idf for t in query}

        # Term at a time: each posting list is added into the accumulator in
        # one vectorised step; entries sharing no term keep a zero.
        acc = np.zeros(snap.size)
        for term, qw in query.items():
            posting = snap.postings.get(term)
            if posting is not None:
                acc[posting.slots] += (qw * idf[term]) * posting.weights
        top = _top(acc, max(limit, 2))
        if not top:
            return []

        # A message of one or two common words ("barangnya bagus") must not
        # look fully covered: its mass is at least that of one unseen term.
        uni_mass = max(sum(uni[t] * idf[t] for t in uni), MIN_QUERY_MASS * max_idf)
        best = top[0][1]
        second = top[1][1] if len(top) > 1 else 0.0
        out: list[Ranked] = []
        for rank, (slot, score) in enumerate(top[:limit]):
            doc = snap.by_slot[slot]
            matched = [t for t in uni if t in doc.weights]
            key_matched = [t for t in matched if t in doc.key_terms]
            question_cov = 0.0
            for qterms in doc.questions:
                total = sum(snap.idf(t) for t in qterms)
                if total:
                    hit = sum(snap.idf(t) for t in qterms if t in uni)
                    question_cov = max(question_cov, hit / total)
            feats = Features(
                strength=score / max_idf,
                coverage=sum(uni[t] * idf[t] for t in matched) / uni_mass,
                key_coverage=sum(uni[t] * idf[t] for t in key_matched) / uni_mass,
                question_coverage=question_cov,
                margin=(score - (second if rank == 0 else best)) / max_idf,
            )
            conf = calibration.confidence(feats)
            if out:
                # Keep scores in rank order: a lower-ranked entry is never
                # presented as surer than the one above it.
                conf = min(conf, out[-1].confidence)
            out.append(Ranked(doc.entry, score, feats, conf, tuple(key_matched or matched)))
        return out

    def suggest(self, text: str, limit: int = 3) -> list[Suggestion]:
        """Best entries first, with calibrated confidence, including weak ones.

        Empty for empty or stopword-only text ("halo kak").
        """
        return [
            Suggestion(r.entry.id, r.confidence, r.matched_terms) for r in self.rank(text, limit)
        ]

    def answer(self, text: str, limit: int = 3) -> list[Suggestion]:
        """Only the suggestions the engine stands behind (score >= threshold)."""
        return [s for s in self.suggest(text, limit) if s.score >= self.threshold]
