"""Cached wrappers around the Indonesian (Sastrawi) and English (Snowball) stemmers.

Sastrawi costs a few hundred microseconds per word, far too slow to run on
every word of every query, but chat vocabulary is small and repetitive, so a
per-word cache makes it effectively free after warm-up.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory  # type: ignore[import-untyped]

_factory = StemmerFactory()
# Sastrawi's own result cache is a plain dict shared by all callers; a lock
# keeps its bookkeeping simple under a thread pool. Only cache misses take it.
_id_lock = threading.Lock()
_id_stemmer = _factory.create_stemmer()
ID_ROOTS: frozenset[str] = frozenset(w.strip() for w in _factory.get_words() if w.strip())

_en_lock = threading.Lock()
_en_stemmer = snowballstemmer.stemmer("english")

_COLLOQUIAL_SUFFIX = ("kan", "i", "")  # Jakarta "-in" stands for formal "-kan" or "-i"

# Per-word results of stem_word and stem_en: plain dicts rather than
# lru_caches so that the default lexicon's build can be saved and preloaded
# (faq/warm.py). Chat vocabulary is small; a full memo is cleared.
_WORDS: dict[str, tuple[str, bool]] = {}
_EN: dict[str, str] = {}
_WORDS_MAX = 200_000


@lru_cache(maxsize=200_000)
def stem_id(word: str) -> str:
    """Sastrawi root of ``word`` (the word itself if Sastrawi finds none)."""
    if word in ID_ROOTS:
        return word
    with _id_lock:
        return str(_id_stemmer.stem(word))


def _inflection_base(word: str) -> str:
    """``word`` without an English inflectional ending (plural, -ed, -ing, -ly)."""
    n = len(word)
    if n > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if n > 4 and word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if n > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    for ending in ("ing", "ed", "ly"):
        if n > len(ending) + 3 and word.endswith(ending):
            return word[: -len(ending)]
    return word


def stem_en(word: str) -> str:
    """Snowball English stem folding inflection only (cached per word, see :func:`_stem_en`)."""
    hit = _EN.get(word)
    if hit is None:
        hit = _stem_en(word)
        if len(_EN) >= _WORDS_MAX:
            _EN.clear()
        _EN[word] = hit
    return hit


def _stem_en(word: str) -> str:
    """Snowball (Porter2) English stem, folding inflection only.

    Snowball also strips derivational suffixes, which merges different words
    into one stem: "customer" and "customs" both become "custom", so "customer
    service" would meet the customs concept ("receiver"/"receive",
    "available"/"avail" likewise). When Snowball removes more than the
    inflectional ending (beyond the one letter its spelling rules change),
    the word keeps its inflection-free form instead.
    """
    with _en_lock:
        stem = str(_en_stemmer.stemWord(word))
    base = _inflection_base(word)
    if len(stem) < len(base) - 1:
        return base
    return stem


def _id_root(word: str) -> str | None:
    root = stem_id(word)
    return root if root in ID_ROOTS else None


def stemmed_words() -> tuple[dict[str, tuple[str, bool]], dict[str, str]]:
    """Copies of the ``stem_word`` and ``stem_en`` results computed (or preloaded) so far."""
    return dict(_WORDS), dict(_EN)


def preload(words: dict[str, tuple[str, bool]], english: dict[str, str]) -> None:
    """Known ``stem_word`` and ``stem_en`` results (from a cache keyed on this module's code)."""
    if len(_WORDS) + len(words) > _WORDS_MAX:
        _WORDS.clear()
    _WORDS.update(words)
    if len(_EN) + len(english) > _WORDS_MAX:
        _EN.clear()
    _EN.update(english)


def stem_word(word: str) -> tuple[str, bool]:
    """Stem one lower-case word of unknown language (cached per word).

    Returns ``(stem, known)`` where ``known`` says the word was recognised as
    Indonesian (a dictionary root, a formal affixed form, or a colloquial
    Jakarta form). Anything else gets the English stemmer: English words are
    the common case, and for names and unknown slang Snowball leaves the
    word nearly as it is, which keeps index and query consistent.
    """
    hit = _WORDS.get(word)
    if hit is not None:
        return hit
    result = _stem_word(word)
    if len(_WORDS) >= _WORDS_MAX:
        _WORDS.clear()  # chat vocabulary is small: a full cache means junk words
    _WORDS[word] = result
    return result


def _stem_word(word: str) -> tuple[str, bool]:
    if not word.isalpha():
        return word, False
    root = _id_root(word)
    if root is not None:
        return root, True
    if len(word) > 4:
        # Colloquial verbs: "batalin" = "batalkan", "ngajuin" = "mengajukan",
        # "ngecek" = "cek"; Sastrawi knows only the formal affixes.
        bases = [word]
        if word.startswith("nge") and len(word) > 5:
            bases.append(word[3:])
        if word.startswith(("ng", "ny")):
            bases.append("me" + word)
        for base in bases:
            if base.endswith("in") and len(base) > 4:
                for suffix in _COLLOQUIAL_SUFFIX:
                    root = _id_root(base[:-2] + suffix)
                    if root is not None:
                        return root, True
            elif base is not word:
                root = _id_root(base)
                if root is not None:
                    return root, True
        if word.endswith("nya") and len(word) > 5:
            # "-nya" glued to a loanword or slang: "refundnya", "sizenya".
            return stem_word(word[:-3])
    return stem_en(word), False
