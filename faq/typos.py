"""Typo repair for words that neither the lexicon nor the index knows.

Only out-of-vocabulary words of a query reach this, and each distinct word is
looked up once per index snapshot, so the fuzzy search stays off the hot path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from rapidfuzz import fuzz, process

MIN_LEN = 4
_NO_FIX = ""
_CLITICS = ("nya", "ku", "mu")


def _cutoff(length: int) -> float:
    # fuzz.ratio is 100 * (1 - edits / total letters). One edit in a short
    # word ("emal" -> "email": 89) passes; "kado" vs "kode" (75) does not.
    return 85.0 if length <= 5 else 80.0


def bucket_words(words: Iterable[str]) -> dict[str, list[str]]:
    """Group words by first letter: typos rarely hit the first letter, and it
    keeps each fuzzy search to a few hundred candidates."""
    buckets: dict[str, list[str]] = {}
    for word in sorted({w for w in words if len(w) >= MIN_LEN - 1 and w.isalpha()}):
        buckets.setdefault(word[0], []).append(word)
    return buckets


class TypoFixer:
    """Maps an unknown word to the closest index or lexicon word, or to nothing.

    ``vocabulary`` is the index's surface words by first letter with their
    document counts (more frequent words win ties); ``lexicon`` the words of
    the slang and synonym lists. ``dictionary`` holds real words of both
    languages: a fix is refused when a dictionary word outside the
    vocabulary is at least as close. "sempet" is one letter from "sempit"
    (narrow, in the index) but also from "sempat" (had the chance), so it is
    not a typo we can trust.
    """

    def __init__(
        self,
        vocabulary: Mapping[str, Mapping[str, int]],
        lexicon: Mapping[str, list[str]],
        dictionary: Mapping[str, list[str]],
    ) -> None:
        self._vocabulary = vocabulary
        self._lexicon = lexicon
        self._dictionary = dictionary
        self._buckets: dict[str, tuple[list[str], frozenset[str]]] = {}
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def _bucket(self, letter: str) -> tuple[list[str], frozenset[str]]:
        # Built per letter on first use: after an edit only the letters that
        # typos actually start with are ever sorted.
        bucket = self._buckets.get(letter)
        if bucket is None:
            counts = dict.fromkeys(self._lexicon.get(letter, ()), 0)
            counts.update(
                (w, c)
                for w, c in self._vocabulary.get(letter, {}).items()
                if len(w) >= MIN_LEN - 1 and w.isalpha()
            )
            words = sorted(counts, key=lambda w: (-counts[w], w))
            bucket = (words, frozenset(words))
            self._buckets[letter] = bucket
        return bucket

    def __call__(self, word: str, stem: str) -> str | None:
        cached = self._cache.get(word)
        if cached is None:
            cached = self._lookup(word)
            if len(self._cache) > 50_000:
                with self._lock:
                    self._cache.clear()
            self._cache[word] = cached
        return cached or None

    def _lookup(self, word: str) -> str:
        if len(word) < MIN_LEN or not word.isalpha():
            return _NO_FIX
        words, known = self._bucket(word[0])
        if word in known or not words:
            return _NO_FIX
        candidates = [word]
        for clitic in _CLITICS:
            if word.endswith(clitic) and len(word) - len(clitic) >= MIN_LEN:
                candidates.append(word[: -len(clitic)])
        best: tuple[float, str, str] | None = None
        for cand in candidates:
            if cand in known:
                return cand
            hit = process.extractOne(
                cand, words, scorer=fuzz.ratio, score_cutoff=_cutoff(len(cand))
            )
            if hit is not None and (best is None or hit[1] > best[0]):
                best = (hit[1], hit[0], cand)
        if best is None:
            return _NO_FIX
        score, fix, cand = best
        rivals = process.extract(
            cand, self._dictionary.get(cand[0], ()), scorer=fuzz.ratio, score_cutoff=score, limit=3
        )
        if any(r[0] != fix and r[0] not in known for r in rivals):
            return _NO_FIX
        return fix
