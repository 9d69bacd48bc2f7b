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


_VOWELS = frozenset("aeiouy")
# Chat abbreviations drop vowels ("pmbyrn" for "pembayaran", "krm" for
# "kirim"): a word with at most this many vowels is read as one, and is
# matched on its consonant skeleton when no spelling is close enough.
ABBREV_MAX_VOWELS = 1
SKELETON_MIN = 3


def skeleton(word: str) -> str:
    """Consonants in order, doubles folded: "pembayaran" -> "pmbyrn"."""
    out: list[str] = []
    for ch in word:
        if ch in _VOWELS and ch != "y":
            continue
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def abbreviation_like(word: str) -> bool:
    return sum(ch in "aeiou" for ch in word) <= ABBREV_MAX_VOWELS


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
        self._skeletons: dict[str, dict[str, list[tuple[str, int]]]] = {}
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

    def _skeleton_map(self, letter: str) -> dict[str, list[tuple[str, int]]]:
        found = self._skeletons.get(letter)
        if found is None:
            found = {}
            counts = self._vocabulary.get(letter, {})
            for w in self._bucket(letter)[0]:  # most frequent first
                if not abbreviation_like(w):  # an abbreviation's target, not another one
                    found.setdefault(skeleton(w), []).append((w, counts.get(w, 0)))
            self._skeletons[letter] = found
        return found

    def _by_skeleton(self, word: str) -> str:
        """The index or lexicon word an abbreviation stands for, when that is clear.

        Clear: the only word with its skeleton, or one that occurs in at
        least twice as many entries as the next ("pngmbln": pengembalian,
        in many entries, over pengambilan, in one).
        """
        if len(word) < SKELETON_MIN or not abbreviation_like(word):
            return _NO_FIX
        sk = skeleton(word)
        if len(sk) < SKELETON_MIN:
            return _NO_FIX
        hits = self._skeleton_map(word[0]).get(sk, [])
        if len(hits) == 1 or (len(hits) > 1 and hits[0][1] >= 2 * max(hits[1][1], 1)):
            return hits[0][0]
        return _NO_FIX

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
        if not word.isalpha():
            return _NO_FIX
        if len(word) < MIN_LEN or abbreviation_like(word):
            # Vowels dropped: a spelling distance to some other short word
            # means nothing; the skeleton says which word it abbreviates.
            fix = self._by_skeleton(word)
            if fix or len(word) < MIN_LEN:
                return fix
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
            return self._by_skeleton(word)
        score, fix, cand = best
        rivals = process.extract(
            cand, self._dictionary.get(cand[0], ()), scorer=fuzz.ratio, score_cutoff=score, limit=3
        )
        if any(r[0] != fix and r[0] not in known for r in rivals):
            return _NO_FIX
        return fix
