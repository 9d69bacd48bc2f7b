"""The FAQ suggestion engine: index entries, rank them for a message, say how sure it is."""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from faq.analyzer import MAX_CHARS
from faq.index import BIGRAM_WEIGHT, Doc, Snapshot, analyse_entry, bigrams
from faq.intent import asked_clean
from faq.lexicon import Lexicon
from faq.models import Entry, Suggestion
from faq.ranker import Candidate, Model
from faq.semantic import Embedder
from faq.typos import TypoFixer

# Candidates the ranker looks at: the best by words, plus the best by meaning.
LEXICAL_CANDIDATES = 10
SEMANTIC_CANDIDATES = 8
MIN_QUERY_MASS = 1.5
# A term found in more than this share of entries says little about which
# one is meant; like a function word it may add to a match, not carry it.
COMMON_SHARE = 0.25
COMMON_MIN_ENTRIES = 8
# A language with fewer entries than this is standardised with the others:
# a mean and spread over a handful of cosines would be noise.
MIN_LANG_GROUP = 3
ANSWER_CHARS = 600  # of an answer embedded: its opening sentences say what it is about


# A query whose posting lists are all this short is added up in Python: numpy's
# fixed cost per call (a few microseconds) is more than a short list's whole sum.
# A shop's FAQ has tens to hundreds of entries, so nearly every message is such a
# query; a common word in a big FAQ takes the vectorised way.
SHORT_POSTING = 48
_NO_SEMANTIC = (0.0,) * 5  # a candidate's semantic evidence without the model


def _top(acc: np.ndarray, k: int) -> list[int]:
    """Slots of the ``k`` best positive scores, best first (ties on the slot)."""
    if len(acc) > k:
        # Every slot scoring at least the k-th best, so that a tie at the cut
        # goes to the lower slot, as on the short way.
        kth = np.partition(acc, len(acc) - k)[len(acc) - k]
        idx = np.flatnonzero(acc >= kth)
    else:
        idx = np.arange(len(acc))
    idx = idx[np.lexsort((idx, -acc[idx]))][:k]
    return [int(i) for i in idx if acc[i] > 0.0]


def _lexical(
    snap: Snapshot, query: dict[str, float], idf: dict[str, float], strong: set[str]
) -> tuple[list[int], Callable[[int], float]]:
    """The best slots by BM25F among those a strong term reaches, and every slot's score.

    Term at a time, in query order, so a slot's sum is the same floating-point sum
    on either way.
    """
    terms = [
        (
            qw * idf[term],
            posting,
            term in strong or (" " in term and any(p in strong for p in term.split())),
        )
        for term, qw in query.items()
        if (posting := snap.postings.get(term)) is not None
    ]
    if any(len(posting) > SHORT_POSTING for _, posting, _ in terms):
        acc = np.zeros(snap.size)
        acc_strong = np.zeros(snap.size)
        for weight, posting, is_strong in terms:
            contrib = weight * posting.weights
            acc[posting.slots] += contrib
            if is_strong:
                acc_strong[posting.slots] += contrib
        top = _top(np.where(acc_strong > 0.0, acc, 0.0), LEXICAL_CANDIDATES)
        return top, lambda slot: float(acc[slot])
    scores: dict[int, float] = {}
    reached: set[int] = set()
    for weight, posting, is_strong in terms:
        for slot, w in posting.pairs():
            scores[slot] = scores.get(slot, 0.0) + weight * w
            if is_strong:
                reached.add(slot)
    live = [(-v, slot) for slot, v in scores.items() if v > 0.0 and slot in reached]
    top = [slot for _, slot in heapq.nsmallest(LEXICAL_CANDIDATES, live)]
    return top, lambda slot: scores.get(slot, 0.0)


# Kinds of entry row, each compared with the message on its own: the
# question and phrasings (short, like a message), the entry as a passage
# (question with the opening of the answer: the same need in other words),
# and the question with its tags (the owner's keywords, language-neutral).
ASK, PASSAGE, TAGGED = 0, 1, 2
KINDS = (ASK, PASSAGE, TAGGED)


@dataclass(frozen=True)
class _Vectors:
    """Entry embeddings of one snapshot: rows of every kind, for all entries."""

    rows: np.ndarray  # (n, dim) float32, L2-normalised
    slots: np.ndarray  # (n,) slot of each row
    kinds: np.ndarray  # (n,) kind of each row (ASK, PASSAGE, TAGGED)
    groups: tuple[np.ndarray, ...]  # slots of the entries of each language, or one group


@dataclass(frozen=True)
class _State:
    snapshot: Snapshot
    typos: TypoFixer | None  # built lazily: most edits are never followed by a typo
    vectors: dict[int, np.ndarray]  # slot -> rows for that entry (empty without a model)
    stacked: _Vectors | None  # built lazily from ``vectors``


@dataclass(frozen=True)
class Ranked:
    """One candidate with the evidence behind it."""

    entry: Entry
    features: dict[str, float]
    logit: float  # the ranker's score; the list is ordered by it
    confidence: float  # calibrated probability (rank 1's, capped down the list)
    matched_terms: tuple[str, ...]


def _entry_texts(entry: Entry) -> list[str]:
    """Short texts embedded per entry like a message: the question and phrasings."""
    return [entry.question, *entry.phrasings]


def _entry_tagged(entry: Entry) -> str:
    """The question with the owner's tags: keywords a message may use instead."""
    return f"{entry.question} {', '.join(entry.tags)}" if entry.tags else entry.question


def _entry_passage(entry: Entry) -> str:
    """The entry as one document: its question with the opening of its answer.

    The answer says the same need in other words than the question, which is
    what a message sharing no word with the question meets.
    """
    return f"{entry.question}\n{entry.answer[:ANSWER_CHARS]}"


class Engine:
    """Ranks FAQ entries for a shopper's message.

    Reads (:meth:`suggest`, :meth:`answer`) are lock-free and safe from many
    threads: they work on an immutable snapshot. Writes (:meth:`upsert`,
    :meth:`remove`) serialise on a lock and publish a new snapshot.

    With an ``embedder`` (see :func:`faq.semantic.load_embedder`) entries are
    embedded once per edit and each message once per query, unless the model
    is busy on another thread, in which case that message is ranked on words
    alone. Without one the engine is purely lexical.
    """

    def __init__(
        self,
        entries: Iterable[Entry] = (),
        lexicon: Lexicon | None = None,
        *,
        embedder: Embedder | None = None,
        model: Model | None = None,
    ) -> None:
        self.lexicon = lexicon or Lexicon.default()
        self.model = model or Model.default()
        self.embedder = embedder
        self._analyzer = self.lexicon.analyzer
        self._write_lock = threading.Lock()
        self._state = _State(Snapshot(), None, {}, None)
        self._write(list(entries), ())

    @property
    def threshold(self) -> float:
        """The bar for "a good answer": suggestions below it mean "no good answer"."""
        return self.model.threshold

    # -- writes -------------------------------------------------------------

    def _write(self, entries: list[Entry], remove: Iterable[str]) -> None:
        with self._write_lock:
            state = self._state
            snap = state.snapshot
            latest = {e.id: e for e in entries}  # the last one wins within a batch
            fresh = iter(snap.new_slots(sum(1 for i in latest if i not in snap.docs)))
            docs: list[Doc] = []
            for entry in latest.values():
                old = snap.docs.get(entry.id)
                slot = old.slot if old is not None else next(fresh)
                docs.append(analyse_entry(entry, self._analyzer, slot))
            gone = [*latest, *remove]
            vectors = dict(state.vectors)
            for faq_id in gone:
                old = snap.docs.get(faq_id)
                if old is not None:
                    vectors.pop(old.slot, None)
            if self.embedder is not None and docs:
                texts = [t for d in docs for t in _entry_texts(d.entry)]
                rows = self.embedder.entries(texts)
                tagged = self.embedder.entries([_entry_tagged(d.entry) for d in docs])
                passages = self.embedder.entries(
                    [_entry_passage(d.entry) for d in docs], passage=True
                )
                i = 0
                for j, d in enumerate(docs):
                    n = len(_entry_texts(d.entry))
                    # The passage and tagged rows go last: _stacked() relies on it.
                    vectors[d.slot] = np.vstack(
                        [rows[i : i + n], passages[j : j + 1], tagged[j : j + 1]]
                    )
                    i += n
            self._state = _State(snap.with_docs(docs, gone), None, vectors, None)

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

    # -- lazily built per-snapshot helpers ------------------------------------

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
                self._state = _State(state.snapshot, fixer, state.vectors, state.stacked)
        return fixer

    def _stacked(self, state: _State) -> _Vectors | None:
        if state.stacked is not None or not state.vectors:
            return state.stacked
        slots = sorted(state.vectors)
        kinds = []
        for s in slots:
            kind = np.full(len(state.vectors[s]), ASK, dtype=np.int8)
            kind[-2:] = (PASSAGE, TAGGED)
            kinds.append(kind)
        by_lang: dict[str, list[int]] = {}
        for s in slots:
            by_lang.setdefault(state.snapshot.by_slot[s].entry.lang, []).append(s)
        groups = [np.asarray(g, dtype=np.int64) for g in by_lang.values()]
        if len(groups) > 1 and min(len(g) for g in groups) < MIN_LANG_GROUP:
            groups = [np.asarray(slots, dtype=np.int64)]
        stacked = _Vectors(
            np.concatenate([state.vectors[s] for s in slots]),
            np.concatenate([np.full(len(state.vectors[s]), s, dtype=np.int64) for s in slots]),
            np.concatenate(kinds),
            tuple(groups),
        )
        with self._write_lock:
            if self._state is state:
                self._state = _State(state.snapshot, state.typos, state.vectors, stacked)
        return stacked

    # -- reads --------------------------------------------------------------

    def _query(self, state: _State, text: str) -> tuple[list[tuple[str, float]], set[str], str]:
        """Weighted terms of a message, the stems that are no known word at all, and the
        message's clean text (see `Analyzer.clean_text`)."""
        postings = state.snapshot.postings
        fixer: TypoFixer | None = None
        unknown: set[str] = set()

        def resolve(word: str, stem: str) -> str | None:
            nonlocal fixer
            if stem in postings:
                return None
            if fixer is None:
                fixer = self._typos(state)
            fixed = fixer(word, stem)
            if fixed is None:
                unknown.add(stem)
            return fixed

        terms, clean = self._analyzer.read(text[:MAX_CHARS], resolve)
        return terms, unknown, clean

    def _weak(self, snap: Snapshot, term: str) -> bool:
        """A function word, or a term in so many entries that it cannot carry a match."""
        if term in self._analyzer.weak_terms:
            return True
        n = len(snap.docs)
        posting = snap.postings.get(term)
        return n >= COMMON_MIN_ENTRIES and posting is not None and len(posting) > COMMON_SHARE * n

    @staticmethod
    def _has_content(snap: Snapshot, strong: set[str], unknown: set[str]) -> bool:
        # Content that is real: a strong term the index knows, or a real word.
        return any(t in snap.postings or t not in unknown for t in strong)

    def worth_ranking(self, text: str) -> bool:
        """Whether ``text`` says anything to rank entries on.

        False for greetings, thanks, function words, very common words and
        gibberish: such a message gets no suggestion, so it must not cost
        the model a forward pass either.
        """
        snap = self._state.snapshot
        if not snap.docs or not text or not text.strip():
            return False
        terms, unknown, _ = self._query(self._state, text)
        strong = {t for t, _ in terms if not self._weak(snap, t)}
        return self._has_content(snap, strong, unknown)

    def query_terms(self, text: str) -> list[str]:
        """Normalised terms of a message, typo-repaired against this index."""
        return list(dict.fromkeys(t for t, _ in self._query(self._state, text)[0]))

    def candidates(
        self, text: str, vector: np.ndarray | None = None
    ) -> tuple[list[Candidate], dict[int, tuple[str, ...]]]:
        """Entries worth ranking for ``text`` with their raw features, and matched terms.

        A message whose content is only function words, very common words or
        unknown strings ("halo kak masih ada orang?" minus the real words,
        "xyzzy tidak ada") has no candidates at all: such words never carry
        a match alone.
        """
        state = self._state
        snap = state.snapshot
        if not snap.docs or not text:
            return [], {}
        terms, unknown, clean = self._query(state, text)
        if not terms:
            return [], {}
        n = len(snap.docs)
        max_idf = math.log(1.0 + (n + 0.5) / 0.5)  # IDF of an unseen term
        uni: dict[str, float] = {}
        for term, w in terms:
            uni[term] = max(uni.get(term, 0.0), w)
        strong = {t for t in uni if not self._weak(snap, t)}
        if not self._has_content(snap, strong, unknown):
            return [], {}
        query = dict(uni)
        for bg in bigrams([t for t, w in terms if w >= 1.0]):
            query[bg] = query.get(bg, 0.0) + BIGRAM_WEIGHT
        idf = {t: snap.idf(t) if t in snap.postings else max_idf for t in query}

        lexical, score = _lexical(snap, query, idf, strong)

        sem_by_slot: dict[int, tuple[float, ...]] = {}
        stacked = self._stacked(state) if vector is not None else None
        if stacked is not None and vector is not None:
            sims = stacked.rows @ vector
            best = np.full((len(KINDS), snap.size), -1.0)
            for kind in KINDS:
                sel = stacked.kinds == kind
                np.maximum.at(best[kind], stacked.slots[sel], sims[sel])
            live = best[ASK] > -1
            # How far an entry stands out from the whole FAQ, in standard
            # deviations, per kind of row: a raw cosine means little (e5 puts
            # unrelated text at 0.75-0.8), its place among all entries does,
            # at any FAQ size; and the kinds are comparable once standardised.
            # Each language's entries are standardised apart: the model puts a
            # message nearer every entry written in its own language, an offset
            # that says nothing about which entry answers it.
            z = np.zeros_like(best)
            for kind in KINDS:
                for group in stacked.groups:
                    col = best[kind][group]
                    z[kind][group] = (col - float(col.mean())) / (float(col.std()) or 1.0)
            fused = np.where(live, z.mean(axis=0), -np.inf)
            semantic = [int(s) for s in np.argsort(-fused)[:SEMANTIC_CANDIDATES] if live[s]]
            slots = list(dict.fromkeys([*lexical, *semantic]))
            sem_by_slot = {
                s: (
                    float(best[ASK, s]),
                    float(z[ASK, s]),
                    float(z[PASSAGE, s]),
                    float(z[TAGGED, s]),
                    float(fused[s]),
                )
                for s in slots
            }
        else:
            slots = lexical
        if not slots:
            return [], {}

        mass = {t: uni[t] * idf[t] for t in uni}
        uni_mass = max(sum(mass.values()), MIN_QUERY_MASS * max_idf)
        strong_mass = sum(mass[t] for t in strong) or 1.0
        asks = asked_clean(text[:MAX_CHARS], clean)
        best_score = max(score(s) for s in slots)
        best_cos = max((c[0] for c in sem_by_slot.values()), default=0.0)
        best_sem = max((c[4] for c in sem_by_slot.values()), default=0.0)
        out: list[Candidate] = []
        matched_terms: dict[int, tuple[str, ...]] = {}
        by_slot = snap.by_slot
        for slot in slots:
            doc = by_slot[slot]
            weights, key_terms = doc.weights, doc.key_terms
            # One pass over the message's terms, in their order (so each sum is the one
            # the features always had): matched anywhere, in the key fields, and strong.
            matched: list[str] = []
            key_matched: list[str] = []
            matched_mass = key_mass = strong_matched = 0.0
            for t in uni:
                if t in weights:
                    matched.append(t)
                    m = mass[t]
                    matched_mass += m
                    if t in key_terms:
                        key_matched.append(t)
                        key_mass += m
                    if t in strong:
                        strong_matched += m
            question_cov = 0.0
            for qterms, total in snap.question_mass(doc):
                if total:
                    # A question's terms are the index's own: `idf` has those of the message.
                    hit = sum([idf[t] for t in qterms.intersection(uni)])
                    question_cov = max(question_cov, hit / total)
            cos, z_ask, z_passage, z_tagged, sem = sem_by_slot.get(slot, _NO_SEMANTIC)
            lexical_score = score(slot)
            features = (
                math.log1p(lexical_score / max_idf),
                matched_mass / uni_mass,
                key_mass / uni_mass,
                question_cov,
                (lexical_score - best_score) / max_idf,
                strong_matched / strong_mass,
                cos,
                cos - best_cos if sem_by_slot else 0.0,
                z_ask,
                z_passage,
                z_tagged,
                sem - best_sem if sem_by_slot else 0.0,
                1.0 if asks & doc.asks else 0.0,
                1.0 if asks and doc.asks and not asks & doc.asks else 0.0,
            )
            out.append(Candidate(slot, features))
            matched_terms[slot] = tuple(key_matched or matched)
        return out, matched_terms

    def embed(self, text: str, wait: bool = False) -> np.ndarray | None:
        """The message's vector, or None without a model (or, unless ``wait``, if it is busy)."""
        if self.embedder is None or not self._state.vectors:
            return None
        # Slang and abbreviations expanded first: the model reads "sudah transfer
        # belum" far better than "udh tf blm".
        text = self._analyzer.clean_text(text[:MAX_CHARS]) or text[:MAX_CHARS]
        return self.embedder.query(text) if wait else self.embedder.try_query(text)

    def rank(
        self,
        text: str,
        limit: int = 3,
        vector: np.ndarray | None = None,
        *,
        semantic: bool = True,
    ) -> list[Ranked]:
        """Top ``limit`` candidates, best first, with features, ranker score and confidence.

        ``vector`` is the message's embedding if the caller has it already;
        otherwise the engine embeds the message itself when it has a model
        that is not busy and ``semantic`` is true (false: words alone, never
        the model, e.g. when the caller has no CPU to spare for it).
        """
        if limit <= 0 or not text:
            return []
        if vector is None and semantic and self.worth_ranking(text):
            vector = self.embed(text)
        cands, matched = self.candidates(text, vector)
        if not cands:
            return []
        semantic = vector is not None and self.model is not None and bool(self._state.vectors)
        ordered = self.model.order(cands, semantic)
        conf = self.model.confidence(ordered, semantic)
        by_slot = self._state.snapshot.by_slot
        names = self.model.feature_names
        out: list[Ranked] = []
        for cand, logit in ordered[:limit]:
            if out:
                # A lower entry is never presented as surer than the one above,
                # and is scaled by how far the ranker puts it below rank 1.
                conf = min(conf, conf * math.exp(logit - ordered[0][1]))
            doc = by_slot[cand.slot]
            out.append(
                Ranked(
                    doc.entry,
                    dict(zip(names, cand.features, strict=True)),
                    logit,
                    conf,
                    matched[cand.slot],
                )
            )
        return out

    def suggest(self, text: str, limit: int = 3, *, semantic: bool = True) -> list[Suggestion]:
        """Best entries first, with calibrated confidence, including weak ones.

        Empty for empty, stopword-only or meaningless text ("halo kak", "xyzzy").
        """
        return [
            Suggestion(r.entry.id, r.confidence, r.matched_terms)
            for r in self.rank(text, limit, semantic=semantic)
        ]

    def answer(self, text: str, limit: int = 3, *, semantic: bool = True) -> list[Suggestion]:
        """Only the suggestions the engine stands behind (score >= threshold)."""
        return [
            s for s in self.suggest(text, limit, semantic=semantic) if s.score >= self.threshold
        ]
