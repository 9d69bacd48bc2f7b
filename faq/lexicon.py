"""Slang, synonyms/bilingual terms and stopwords, loaded from plain data files.

The vocabulary is data, not code, so that a site owner can extend it for their
own shop (brand names, local slang, product words) without touching Python.

File formats (UTF-8, ``#`` starts a comment, blank lines ignored):

- ``slang*.tsv``: ``word<TAB>replacement`` — a chat abbreviation or slang word and
  what it means; the replacement may be several words (``dmn<TAB>di mana``).
- ``synonyms*.txt``: one group per line, terms separated by ``|``. Every term
  in a group means the same thing for the shop; the first term names the
  group. Terms may be phrases and may mix languages
  (``refund | pengembalian dana | uang kembali | money back``).
  A line ``broad > narrow | narrow ...`` says each narrow term also implies
  the broad one, while keeping its own meaning
  (``jabodetabek > jakarta | bogor | depok | tangerang | bekasi``).
- ``stopwords*.txt``: one word or phrase per line; words that carry no
  meaning for finding an answer (``yang``, ``the``, chat fillers like ``kak``).
- ``words*.txt``: known words, whitespace-separated. A known word is never
  "typo-fixed" into a similar index word (``last`` must not become ``least``).
- ``stems*.tsv``: ``word<TAB>stem`` — exceptions for the stemmer where its rule
  would change the meaning (Sastrawi turns ``pakaian`` "clothes" into
  ``pakai`` "use").
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faq.analyzer import Analyzer

DATA_DIR = Path(__file__).parent / "data"

SynonymInput = Mapping[str, Iterable[str]] | Iterable[Iterable[str]]


def _clean_lines(path: Path) -> Iterable[str]:
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            line = raw.split("#", 1)[0].strip()
            if line:
                yield line


def _norm_key(text: str) -> str:
    return " ".join(text.lower().split())


def parse_slang(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in _clean_lines(path):
        if "\t" not in line:
            raise ValueError(f"{path}: slang line needs a TAB: {line!r}")
        word, repl = line.split("\t", 1)
        out[_norm_key(word)] = _norm_key(repl)
    return out


def parse_synonyms(path: Path) -> tuple[list[tuple[str, ...]], dict[str, tuple[str, ...]]]:
    groups: list[tuple[str, ...]] = []
    broader: dict[str, tuple[str, ...]] = {}
    for line in _clean_lines(path):
        if ">" in line:
            broad, narrow = line.split(">", 1)
            terms = tuple(_norm_key(t) for t in narrow.split("|") if t.strip())
            key = _norm_key(broad)
            broader[key] = broader.get(key, ()) + terms
            continue
        terms = tuple(_norm_key(t) for t in line.split("|") if t.strip())
        if len(terms) >= 2:
            groups.append(terms)
    return groups, broader


def parse_stopwords(path: Path) -> set[str]:
    return {_norm_key(line) for line in _clean_lines(path)}


class Lexicon:
    """Immutable bundle of the vocabulary data the normaliser uses.

    Build it with :meth:`default`, :meth:`from_files` or :meth:`extended`; an
    instance never changes, which lets engines share it across threads and
    cache per-word work on it.
    """

    __slots__ = (
        "_analyzer",
        "_lock",
        "broader",
        "slang",
        "stems",
        "stopwords",
        "synonyms",
        "weak",
        "words",
    )

    def __init__(
        self,
        slang: Mapping[str, str] | None = None,
        synonyms: Iterable[Iterable[str]] = (),
        stopwords: Iterable[str] = (),
        stems: Mapping[str, str] | None = None,
        broader: Mapping[str, Iterable[str]] | None = None,
        words: Iterable[str] = (),
        weak: Iterable[str] = (),
    ) -> None:
        self.slang: Mapping[str, str] = {
            _norm_key(k): _norm_key(v) for k, v in (slang or {}).items()
        }
        self.synonyms: tuple[tuple[str, ...], ...] = tuple(
            t
            for t in (tuple(_norm_key(x) for x in g if x.strip()) for g in synonyms)
            if len(t) >= 2
        )
        self.stopwords: frozenset[str] = frozenset(_norm_key(w) for w in stopwords if w.strip())
        self.stems: Mapping[str, str] = {
            _norm_key(k): _norm_key(v) for k, v in (stems or {}).items()
        }
        self.broader: Mapping[str, tuple[str, ...]] = {
            _norm_key(k): tuple(_norm_key(x) for x in v) for k, v in (broader or {}).items()
        }
        self.words: frozenset[str] = frozenset(w.lower() for w in words)
        # Function words: they may add to a match but never carry one alone.
        self.weak: frozenset[str] = frozenset(_norm_key(w) for w in weak if w.strip())
        self._analyzer: Analyzer | None = None
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> Lexicon:
        """The lexicon shipped in ``faq/data`` (cached: it is immutable)."""
        global _DEFAULT
        if _DEFAULT is None:
            with _DEFAULT_LOCK:
                if _DEFAULT is None:
                    _DEFAULT = cls._build_default()
        return _DEFAULT

    @classmethod
    def _build_default(cls) -> Lexicon:
        # The slow, pure part (published lists, stemming the lists' words) comes
        # from a cache on disk when one matches the installed code (faq/warm.py).
        from faq import resources, stemming, warm

        cached = warm.load()
        if cached is not None:
            resources.preload(cached.colloquial, cached.stopwords_id, cached.english_words)
            stemming.preload(cached.stems, cached.en_stems)
        lexicon = cls.published().extend_files(*sorted(DATA_DIR.iterdir()))
        lexicon.analyzer  # noqa: B018 - built now: its stemming is what the cache keeps
        if cached is None:
            warm.save(
                warm.Warm(
                    resources.colloquial_lexicon(),
                    resources.stopwords_id(),
                    resources.english_words(),
                    *stemming.stemmed_words(),
                )
            )
        return lexicon

    @classmethod
    def published(cls) -> Lexicon:
        """Only the published resources (see :mod:`faq.resources`), no shop data."""
        from faq.resources import colloquial_lexicon, english_words, stopwords_id
        from faq.stemming import ID_ROOTS

        # A colloquial form that is also a dictionary root ("minta", "haru")
        # is left alone: rewriting real words is how general lists go wrong.
        slang = {k: v for k, v in colloquial_lexicon().items() if k not in ID_ROOTS}
        return cls(slang=slang, weak=stopwords_id(), words=english_words())

    def extend_files(self, *paths: str | Path) -> Lexicon:
        """This lexicon with data files on top (theirs win on conflicts)."""
        return Lexicon.from_files(*paths, base=self)

    @classmethod
    def from_files(cls, *paths: str | Path, base: Lexicon | None = None) -> Lexicon:
        """Load data files; the kind of each file is told by its name.

        ``slang*.tsv``, ``synonyms*.txt``, ``stopwords*.txt`` and ``stems*.tsv`` are read;
        with ``base`` the files extend that lexicon instead of starting empty.
        """
        slang: dict[str, str] = dict(base.slang) if base else {}
        synonyms: list[tuple[str, ...]] = list(base.synonyms) if base else []
        stopwords: set[str] = set(base.stopwords) if base else set()
        stems: dict[str, str] = dict(base.stems) if base else {}
        broader: dict[str, tuple[str, ...]] = dict(base.broader) if base else {}
        words: set[str] = set(base.words) if base else set()
        weak: set[str] = set(base.weak) if base else set()
        for p in map(Path, paths):
            name = p.name.lower()
            if name.startswith("slang"):
                slang.update(parse_slang(p))
            elif name.startswith("synonyms"):
                groups, broad = parse_synonyms(p)
                synonyms.extend(groups)
                for k, v in broad.items():
                    broader[k] = broader.get(k, ()) + v
            elif name.startswith("stopwords"):
                stopwords |= parse_stopwords(p)
            elif name.startswith("stems"):
                stems.update(parse_slang(p))
            elif name.startswith("words"):
                for line in _clean_lines(p):
                    words.update(line.lower().split())
            elif p.suffix in {".tsv", ".txt"}:
                raise ValueError(f"unknown lexicon file kind: {p}")
        return cls(slang, synonyms, stopwords, stems, broader, words, weak)

    def extended(
        self,
        slang: Mapping[str, str] | None = None,
        synonyms: SynonymInput | None = None,
        stopwords: Iterable[str] | None = None,
        not_stopwords: Iterable[str] | None = None,
        stems: Mapping[str, str] | None = None,
        broader: Mapping[str, Iterable[str]] | None = None,
        words: Iterable[str] | None = None,
    ) -> Lexicon:
        """A new lexicon with a site owner's additions; this one is unchanged.

        ``synonyms`` is either a mapping ``head -> alternatives`` or an iterable
        of groups. ``broader`` maps a broad term to narrower ones that imply it.
        ``not_stopwords`` lets a shop make a default stopword
        meaningful again (say ``pagi`` for a bakery).
        """
        new_slang = dict(self.slang)
        new_slang.update({_norm_key(k): _norm_key(v) for k, v in (slang or {}).items()})
        groups = list(self.synonyms)
        if isinstance(synonyms, Mapping):
            groups.extend((head, *alts) for head, alts in synonyms.items())
        elif synonyms is not None:
            groups.extend(tuple(g) for g in synonyms)
        stops = set(self.stopwords) | {_norm_key(w) for w in stopwords or ()}
        stops -= {_norm_key(w) for w in not_stopwords or ()}
        new_stems = dict(self.stems)
        new_stems.update({_norm_key(k): _norm_key(v) for k, v in (stems or {}).items()})
        new_broader = dict(self.broader)
        for k, v in (broader or {}).items():
            key = _norm_key(k)
            new_broader[key] = new_broader.get(key, ()) + tuple(_norm_key(x) for x in v)
        return Lexicon(
            new_slang,
            groups,
            stops,
            new_stems,
            new_broader,
            self.words | set(words or ()),
            self.weak,
        )

    @property
    def analyzer(self) -> Analyzer:
        """The text analyser for this lexicon, built once on first use."""
        if self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    from faq.analyzer import Analyzer

                    self._analyzer = Analyzer(self)
        return self._analyzer

    def __repr__(self) -> str:
        return (
            f"Lexicon(slang={len(self.slang)}, synonyms={len(self.synonyms)}, "
            f"stopwords={len(self.stopwords)}, stems={len(self.stems)}, "
            f"broader={len(self.broader)}, words={len(self.words)}, weak={len(self.weak)})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Lexicon,
            (
                dict(self.slang),
                self.synonyms,
                set(self.stopwords),
                dict(self.stems),
                dict(self.broader),
                set(self.words),
                set(self.weak),
            ),
        )


_DEFAULT: Lexicon | None = None
_DEFAULT_LOCK = threading.Lock()
