"""Turn a shopper's message into normalised terms.

Pipeline per message: Unicode/case folding → tokens → per-token clean-up
(hyphens, ``2`` reduplication, stretched letters) → slang expansion →
stopwords → stemming (Sastrawi, colloquial forms, Snowball) → optional typo
repair against the index vocabulary → synonym/bilingual concepts.

A concept is written as its group's label: ``kurir``, ``ekspedisi`` and
``courier`` all become ``kurir``. A multi-word synonym (``pengembalian dana``)
gives its label and keeps its words at a lower weight, so partial overlap
still counts without the phrase counting three times. A broader term
(``jabodetabek > bekasi``) is added beside the narrower word, also at a
lower weight.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from faq.stemming import ID_ROOTS, stem_en, stem_word
from faq.typos import bucket_words

if TYPE_CHECKING:
    from faq.lexicon import Lexicon

MAX_CHARS = 2000
MAX_WORD_LEN = 40
MEMO_MAX = 100_000  # tokens, words or stems kept per memo; a full memo starts again
COMPONENT_WEIGHT = 0.4  # words of a matched phrase, beside the phrase's concept
BROADER_WEIGHT = 0.6  # a broader concept implied by a narrower word

# Modal verbs a phrase may skip over: "tidak dapat menyala" is "tidak menyala".
# They stay ordinary terms when no phrase spans them.
SOFT_WORDS = frozenset({"bisa", "dapat", "mampu", "sanggup", "pernah"})

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-&][a-z0-9]+)*")
_STRETCH_RE = re.compile(r"(.)\1{2,}")
_DOUBLE_RE = re.compile(r"(.)\1")
_CLITICS = ("nya", "ku", "mu", "lah", "kah", "pun")

# Resolver for words the lexicon and dictionary do not know: gets the word
# and its stem, returns a replacement surface word (a typo fix) or None.
Resolver = Callable[[str, str], "str | None"]
Weighted = list[tuple[str, float]]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    return text.replace("\u2019", "").replace("'", "").replace("`", "")


class Analyzer:
    """Per-lexicon analyser; its caches are safe to share between threads."""

    def __init__(self, lexicon: Lexicon) -> None:
        self._slang: dict[str, tuple[str, ...]] = {
            k: tuple(v.split()) for k, v in lexicon.slang.items()
        }
        self._stems: dict[str, str] = dict(lexicon.stems)
        single_stops = {w for w in lexicon.stopwords if " " not in w}
        self._stop = frozenset(single_stops)
        self._stop_phrases: dict[str, list[tuple[str, ...]]] = {}
        for phrase in lexicon.stopwords:
            if " " in phrase:
                words = tuple(phrase.split())
                self._stop_phrases.setdefault(words[0], []).append(words)
        for lst in self._stop_phrases.values():
            lst.sort(key=len, reverse=True)
        # Words the lexicon itself uses count as known: they are never typo-fixed.
        known: set[str] = set(self._slang) | set(single_stops) | set(self._stems)
        for v in self._slang.values():
            known.update(v)
        for group in lexicon.synonyms:
            for term in group:
                known.update(_TOKEN_RE.findall(_fold(term)))
        for broad, narrow in lexicon.broader.items():
            for term in (broad, *narrow):
                known.update(_TOKEN_RE.findall(_fold(term)))
        self._known_surface = frozenset(known)
        self._en_words = frozenset(lexicon.words)
        self._dict_buckets: dict[str, list[str]] | None = None
        self._lex_buckets: dict[str, list[str]] | None = None
        self.known_words: frozenset[str] = frozenset(
            w for w in known if len(w) > 2 and w.isalpha() and w not in single_stops
        )
        # Stems of function words (published stopword list, the lexicon's own
        # stopwords, modals): such a term never carries a match alone.
        self.weak_terms: frozenset[str] = frozenset(
            self._stem(w)[0]
            for w in (*lexicon.weak, *lexicon.stopwords, *SOFT_WORDS)
            if " " not in w
        )
        self._word_cache: dict[str, tuple[str, ...]] = {}
        # Per word and per stem, what the steps after the clean-up make of it (the same
        # every time, for this lexicon): the typo repair, which depends on an index, is not
        # kept, only whether the word may need it.
        self._word_stems: dict[str, tuple[tuple[str, bool], bool]] = {}
        self._word_terms: dict[str, tuple[tuple[str, float], ...]] = {}
        self._cache_lock = threading.Lock()
        # key (stems) -> (concept labels replacing it, broader labels added to it)
        self._phrases: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._phrase_sizes: dict[str, tuple[int, ...]] = {}
        self._build_phrases(lexicon)

    # -- concepts -----------------------------------------------------------

    def _keys(self, term: str) -> tuple[tuple[str, ...], tuple[str, ...], list[tuple[str, ...]]]:
        """(exact key, content key, keys to register) of a lexicon term.

        A phrase gets two keys: its exact words (stopwords kept: "bayar di
        tempat", "same day", "sold out") and its content words only (no
        stopwords, no modals), so that "bayar ditempat" also matches. A phrase whose content shrinks to one
        word gets only the exact key: "hari itu juga" must not turn every
        "hari" into the same-day concept.
        """
        seq = self._stem_sequence(term)
        exact = tuple(stem for stem, _ in seq)
        plain = tuple(stem for stem, is_stop in seq if not is_stop)
        if len(exact) <= 1:
            return exact, plain, [plain] if plain else []
        # Content matching skips modals, so the content key must not hold any.
        content = tuple(stem for stem in plain if stem not in SOFT_WORDS)
        keys = [exact]
        if len(content) >= 2 and content != exact:
            keys.append(content)
        return exact, plain, keys

    def _build_phrases(self, lexicon: Lexicon) -> None:
        labels: dict[tuple[str, ...], list[str]] = {}
        for group in lexicon.synonyms:
            label = ""
            for term in group:
                exact, content, keys = self._keys(term)
                if not exact:
                    continue
                label = label or "_".join(content or exact)
                for key in keys:
                    lst = labels.setdefault(key, [])
                    if label not in lst:
                        lst.append(label)
        broader: dict[tuple[str, ...], list[str]] = {}
        for broad, narrows in lexicon.broader.items():
            exact, content, _ = self._keys(broad)
            if not exact:
                continue
            key = content or exact
            broad_labels = labels.get(key) or ["_".join(key)]
            for term in narrows:
                for nkey in self._keys(term)[2]:
                    lst = broader.setdefault(nkey, [])
                    lst.extend(b for b in broad_labels if b not in lst)
        self._phrases = {
            key: (tuple(labels.get(key, ())), tuple(broader.get(key, ())))
            for key in set(labels) | set(broader)
        }
        # Phrase lengths (longest first) by first word: most words start no phrase.
        sizes: dict[str, set[int]] = {}
        for key in self._phrases:
            if len(key) > 1:
                sizes.setdefault(key[0], set()).add(len(key))
        self._phrase_sizes = {w: tuple(sorted(v, reverse=True)) for w, v in sizes.items()}

    def _emit_word(self, stem: str, out: Weighted) -> None:
        """`_emit_single` at full weight, the common case, from a memo per stem."""
        terms = self._word_terms.get(stem)
        if terms is None:
            found: Weighted = []
            self._emit_single(stem, found, 1.0)
            terms = tuple(found)
            self._remember(self._word_terms, stem, terms)
        out.extend(terms)

    def _emit_single(self, stem: str, out: Weighted, weight: float) -> None:
        entry = self._phrases.get((stem,))
        if entry is None:
            out.append((stem, weight))
            return
        labels, broad = entry
        out.extend((label, weight) for label in labels or (stem,))
        out.extend((b, weight * BROADER_WEIGHT) for b in broad)

    def _emit_phrase(self, key: tuple[str, ...], words: tuple[str, ...], out: Weighted) -> None:
        labels, broad = self._phrases[key]
        out.extend((label, 1.0) for label in labels)
        part_weight = COMPONENT_WEIGHT if labels else 1.0
        for stem in words:
            self._emit_single(stem, out, part_weight)
        out.extend((b, BROADER_WEIGHT) for b in broad)

    def _apply_concepts(self, seq: list[tuple[str, bool]]) -> Weighted:
        out: Weighted = []
        phrases = self._phrases
        sizes = self._phrase_sizes
        stems = [stem for stem, _ in seq]
        i, n = 0, len(seq)
        while i < n:
            stem, is_stop = seq[i]
            starts = sizes.get(stem, ())
            # Exact phrase, stopwords included; longest first.
            for size in starts:
                if size <= n - i:
                    key = tuple(stems[i : i + size])
                    if key in phrases:
                        words = tuple(s for s, stop in seq[i : i + size] if not stop)
                        self._emit_phrase(key, words, out)
                        i += size
                        break
            else:
                if is_stop:
                    i += 1
                    continue
                matched = False
                if starts:
                    # Content-word phrase, skipping stopwords and modals between its words.
                    positions = [i]
                    j = i + 1
                    while j < n and len(positions) < starts[0]:
                        if not seq[j][1] and seq[j][0] not in SOFT_WORDS:
                            positions.append(j)
                        j += 1
                    for size in starts:
                        if size <= len(positions):
                            key = tuple(stems[p] for p in positions[:size])
                            if key in phrases:
                                self._emit_phrase(key, key, out)
                                i = positions[size - 1] + 1
                                matched = True
                                break
                if not matched:
                    self._emit_word(stem, out)
                    i += 1
        return out

    # -- words --------------------------------------------------------------

    def _is_known(self, word: str) -> bool:
        return word in self._known_surface or word in ID_ROOTS

    def _destretch(self, word: str) -> str:
        if len(word) > MAX_WORD_LEN:
            return ""
        word = _STRETCH_RE.sub(r"\1\1", word)
        # Only an unrecognised word loses its double letters: "bangett" ->
        # "banget", but "pesanannya" and "masukkan" are real words.
        if _DOUBLE_RE.search(word) and not (self._is_known(word) or stem_word(word)[1]):
            single = _DOUBLE_RE.sub(r"\1", word)
            if self._is_known(single) or stem_word(single)[1]:
                return single
        return word

    def surface_words(self, token: str) -> tuple[str, ...]:
        """Clean one raw token into surface words, slang expanded (cached)."""
        cached = self._word_cache.get(token)
        if cached is not None:
            return cached
        words: list[str] = []
        token_clean = token.replace("&", "n")  # "j&t" -> "jnt", "s&k" -> "snk"
        parts = token_clean.split("-") if "-" in token_clean else [token_clean]
        if len(parts) > 1 and token_clean in self._slang:  # "tiba-tiba", "e-mail"
            parts = [token_clean]
        if len(parts) > 1:
            if parts[-1] in _CLITICS:
                parts = parts[:-1]
            if len(set(parts)) == 1:  # reduplication: "kata-kata"
                parts = parts[:1]
            elif not (parts[0] in self._slang or parts[-1] in self._slang):
                # "pre-order", "e-wallet": one word, matching "preorder".
                joined = "".join(parts)
                if self._is_known(joined) or joined in self._slang:
                    parts = [joined]
        for part in parts:
            if len(part) > 2 and part.endswith("2") and part[:-1].isalpha():
                part = part[:-1]  # "nanya2", "masuk2": reduplication in chat
            if part.isdigit():
                continue
            part = self._destretch(part)
            if not part:
                continue
            repl = self._slang.get(part)
            if repl is None and part.endswith("nya") and part[:-3] in self._slang:
                repl = self._slang[part[:-3]]  # "ongkirnya", "resinya"
            if repl is not None:
                # One more step: the colloquial lexicon's formal side can itself
                # be colloquial for the shop list ("gk" -> "enggak" -> "tidak").
                repl = tuple(w2 for w in repl for w2 in self._slang.get(w, (w,)))
            words.extend(repl if repl is not None else (part,))
        result = tuple(words)
        self._remember(self._word_cache, token, result)
        return result

    def _stem(self, word: str) -> tuple[str, bool]:
        override = self._stems.get(word)
        if override is not None:
            return override, True
        if word in self._en_words and word not in ID_ROOTS:
            # A common English word is not taken apart by Indonesian affix rules:
            # Sastrawi would read "login" as log+in, "lines" as le+s, "again" as aga+in.
            return stem_en(word), True
        return stem_word(word)

    def _stop_phrase_at(self, words: list[str], i: int) -> int:
        for phrase in self._stop_phrases.get(words[i], ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                return len(phrase)
        return 0

    def _words(self, text: str) -> list[str]:
        """The text's surface words: tokens cleaned, slang expanded, stopwords kept."""
        words: list[str] = []
        for token in _TOKEN_RE.findall(_fold(text)):
            words.extend(self.surface_words(token))
        return words

    def _stem_sequence(self, text: str, resolve: Resolver | None = None) -> list[tuple[str, bool]]:
        return self._stem_words(self._words(text), resolve)

    def _stem_words(
        self, words: list[str], resolve: Resolver | None = None
    ) -> list[tuple[str, bool]]:
        """``(stem, is_stopword)`` for every word; stopwords keep their surface form."""
        seq: list[tuple[str, bool]] = []
        stop = self._stop
        i, n = 0, len(words)
        stop_phrases = self._stop_phrases
        memo = self._word_stems
        while i < n:
            word = words[i]
            phrase = self._stop_phrase_at(words, i) if word in stop_phrases else 0
            if phrase:
                seq.extend((w, True) for w in words[i : i + phrase])
                i += phrase
                continue
            i += 1
            known_stem = memo.get(word)
            if known_stem is None:
                known_stem = self._word_stem(word)
            item, unknown = known_stem
            if resolve is not None and unknown:
                stem = item[0]
                fixed = resolve(word, stem)
                if fixed is not None:
                    fixed_words = list(self.surface_words(fixed))
                    if fixed_words and self._stop_phrase_at(fixed_words, 0) == len(fixed_words):
                        # Repaired into a stopword phrase ("trimakasih" -> "terima kasih").
                        seq.extend((w, True) for w in fixed_words)
                        continue
                    for w in fixed_words:
                        is_stop = len(w) < 2 or w in stop
                        seq.append((w if is_stop else self._stem(w)[0], is_stop))
                    continue
            seq.append(item)
        return seq

    def _word_stem(self, word: str) -> tuple[tuple[str, bool], bool]:
        """A word's ``(stem, is_stopword)`` as `_stem_words` gives it, and whether it is no
        real word at all (a typo fix may apply); kept per word, as a chat's vocabulary is
        small and repeats."""
        if len(word) < 2 or word in self._stop:
            found: tuple[tuple[str, bool], bool] = ((word, True), False)
        else:
            stem, known = self._stem(word)
            found = ((stem, False), not known and not self.is_known_word(word, stem))
        self._remember(self._word_stems, word, found)
        return found

    def _remember(self, memo: dict[str, Any], key: str, value: Any) -> None:
        """Keep `value` in one of the per-word memos; a full memo (junk words) starts again."""
        if len(memo) > MEMO_MAX:
            with self._cache_lock:
                memo.clear()
        memo[key] = value

    @property
    def lexicon_buckets(self) -> dict[str, list[str]]:
        """The lexicon's own words by first letter: typo targets besides the index."""
        if self._lex_buckets is None:
            self._lex_buckets = bucket_words(self.known_words)
        return self._lex_buckets

    @property
    def dictionary_buckets(self) -> dict[str, list[str]]:
        """Real words of both languages by first letter, for typo ambiguity checks."""
        if self._dict_buckets is None:
            with self._cache_lock:
                if self._dict_buckets is None:
                    self._dict_buckets = bucket_words(ID_ROOTS | self._en_words)
        return self._dict_buckets

    def is_known_word(self, word: str, stem: str) -> bool:
        """A real word (lexicon, Indonesian dictionary or common English): no typo fix."""
        return (
            word in self._known_surface
            or word in self._en_words  # a frequency list: inflected forms are in it
            or word in ID_ROOTS
        )

    # -- public -------------------------------------------------------------

    def clean_text(self, text: str) -> str:
        """The text's words with slang expanded and stretched letters folded, stopwords kept."""
        return " ".join(self._words(text))

    def surface_text(self, text: str) -> list[str]:
        """Content surface words (slang expanded, not stemmed): the typo vocabulary."""
        words: list[str] = []
        for token in _TOKEN_RE.findall(_fold(text)):
            words.extend(w for w in self.surface_words(token) if len(w) > 2 and w.isalpha())
        return [w for w in words if w not in self._stop]

    def base_terms(self, text: str, resolve: Resolver | None = None) -> list[str]:
        """Stems of the content words, before concept mapping."""
        return [stem for stem, is_stop in self._stem_sequence(text, resolve) if not is_stop]

    def weighted_terms(self, text: str, resolve: Resolver | None = None) -> Weighted:
        """Normalised terms with weights: 1.0 for what the text says outright."""
        return self._apply_concepts(self._stem_sequence(text, resolve))

    def read(self, text: str, resolve: Resolver | None = None) -> tuple[Weighted, str]:
        """``weighted_terms`` and ``clean_text`` of one text, its words cleaned once."""
        words = self._words(text)
        return self._apply_concepts(self._stem_words(words, resolve)), " ".join(words)

    def terms(self, text: str, resolve: Resolver | None = None) -> list[str]:
        """Normalised terms: stems with synonyms mapped to their concept label."""
        seen: set[str] = set()
        out: list[str] = []
        for term, _ in self.weighted_terms(text, resolve):
            if term not in seen:
                seen.add(term)
                out.append(term)
        return out


def normalize(text: str, lexicon: Lexicon | None = None) -> list[str]:
    """Normalised terms of ``text``, each once, in order of first appearance.

    No typo repair here: that needs an index's vocabulary (see
    :meth:`faq.Engine.query_terms`).
    """
    from faq.lexicon import Lexicon

    return (lexicon or Lexicon.default()).analyzer.terms(text)
