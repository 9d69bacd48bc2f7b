"""Published language resources the default lexicon is built on.

- Colloquial Indonesian Lexicon ("Kamus Alay", Salsabila, Ali, Yosef and
  Purwarianti, IALP 2018: ~4,300 colloquial/abbreviated forms and their formal
  words, collected from Indonesian social-media text), as shipped in the
  ``indoNLP`` package (MIT licence) as ``indoNLP.preprocessing.slang_data``.
- The Indonesian stopword list shipped with the same package
  (``indoNLP.preprocessing.stopwords_data``, 758 words).

Both are Python modules inside an installed package: nothing is fetched at run
time. The shop-domain list in ``faq/data/slang.tsv`` is applied on top of
them (it wins on conflicts: "gk" means "tidak" for us, where the lexicon keeps
the colloquial "enggak").
"""

from __future__ import annotations

import logging
from functools import lru_cache

log = logging.getLogger(__name__)

SOURCE = "indoNLP (MIT): Kamus Alay colloquial lexicon + Indonesian stopwords"


@lru_cache(maxsize=1)
def colloquial_lexicon() -> dict[str, str]:
    """Colloquial form -> formal word(s); empty (with one log line) if unavailable."""
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
    try:
        from indoNLP.preprocessing.stopwords_data import (  # type: ignore[import-untyped]
            STOPWORDS,
        )
    except ImportError:  # pragma: no cover - the package is a dependency
        return frozenset()
    return frozenset(w for w in STOPWORDS if w.isalpha())
