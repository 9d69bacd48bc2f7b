"""Published language resources the default lexicon is built on.

- Colloquial Indonesian Lexicon ("Kamus Alay", Salsabila, Ali, Yosef and
  Purwarianti, IALP 2018: ~4,300 colloquial/abbreviated forms and their formal
  words, collected from Indonesian social-media text), as shipped in the
  ``indoNLP`` package (MIT licence) as ``indoNLP.preprocessing.slang_data``.
- The Indonesian stopword list shipped with the same package
  (``indoNLP.preprocessing.stopwords_data``, 758 words).
- English words: the word-frequency list shipped in ``pyspellchecker`` (MIT;
  built from the OpenSubtitles frequency lists), its most frequent
  ``ENGLISH_WORDS`` words. They are "real words" that typo repair never bends
  into an index word ("last" must not become "least").

All are data inside installed packages: nothing is fetched at run time. None
of them was shaped by the faq-eval dev set (only the cut of the English list
was chosen by cross-validation on it). The shop-domain files in ``faq/data``
are applied on top (``slang.tsv`` wins on conflicts: "gk" means "tidak" for
us, where the lexicon keeps the colloquial "enggak"; ``words_en.txt`` adds
shop words the frequency list may lack).
"""

from __future__ import annotations

import logging
from functools import lru_cache

log = logging.getLogger(__name__)

# Values read back from the on-disk cache (faq/warm.py), used instead of the packages.
_colloquial: dict[str, str] | None = None
_stopwords: frozenset[str] | None = None
_english: frozenset[str] | None = None


def preload(colloquial: dict[str, str], stopwords: frozenset[str], english: frozenset[str]) -> None:
    """The three lists as read back from a cache keyed on this code and their packages."""
    global _colloquial, _stopwords, _english
    _colloquial, _stopwords, _english = dict(colloquial), stopwords, english


SOURCE = (
    "indoNLP (MIT): Kamus Alay colloquial lexicon + Indonesian stopwords; "
    "pyspellchecker (MIT): English word frequencies"
)
# 10,000, not 30,000: the longer tail holds foreign words and names, and on
# dev cross-validation it cost one rejection and one false rejection (typos
# taken for real words); 10,000 was neutral.
ENGLISH_WORDS = 10_000


@lru_cache(maxsize=1)
def colloquial_lexicon() -> dict[str, str]:
    """Colloquial form -> formal word(s); empty (with one log line) if unavailable."""
    if _colloquial is not None:
        return dict(_colloquial)
    try:
        from indoNLP.preprocessing.slang_data import (  # type: ignore[import-untyped]
            SLANG_DATA,
        )
    except ImportError as exc:  # pragma: no cover - the package is a dependency
        log.warning("faq: colloquial lexicon unavailable (%s); using faq/data only", exc)
        return {}
    out: dict[str, str] = {}
    for key, value in SLANG_DATA.items():
        k, v = key.strip().lower(), " ".join(value.replace("-", " ").lower().split())
        if k and v and k != v and k.isalnum():
            out[k] = v
    return out


@lru_cache(maxsize=1)
def stopwords_id() -> frozenset[str]:
    """The published Indonesian stopword list (single words only)."""
    if _stopwords is not None:
        return _stopwords
    try:
        from indoNLP.preprocessing.stopwords_data import (  # type: ignore[import-untyped]
            STOPWORDS,
        )
    except ImportError:  # pragma: no cover - the package is a dependency
        return frozenset()
    return frozenset(w for w in STOPWORDS if w.isalpha())


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The most frequent English words (lower case, letters only); empty if unavailable."""
    if _english is not None:
        return _english
    try:
        import gzip
        import json
        from importlib.resources import files

        raw = files("spellchecker").joinpath("resources", "en.json.gz").read_bytes()
        freq: dict[str, int] = json.loads(gzip.decompress(raw))
    except (ImportError, OSError, ValueError) as exc:  # pragma: no cover - a dependency
        log.warning("faq: English word list unavailable (%s)", exc)
        return frozenset()
    ranked = sorted((w for w in freq if w.isalpha() and w.isascii()), key=lambda w: -freq[w])
    return frozenset(ranked[:ENGLISH_WORDS])
