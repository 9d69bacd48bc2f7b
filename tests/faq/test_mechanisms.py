"""Issue 12 mechanisms: abbreviation repair by consonant skeleton, per-language
standardised cosines, and the ranker trained on extra (blind-list) evidence."""

from __future__ import annotations

import numpy as np

from faq import Engine, Entry, Lexicon
from faq.ranker import CANDIDATE_FEATURES, Candidate, fit_variant
from faq.semantic import Embedder
from faq.typos import TypoFixer, abbreviation_like, skeleton

from .conftest import make_entries


def test_skeleton_folds_vowels_and_doubles() -> None:
    assert skeleton("pembayaran") == "pmbyrn"
    assert skeleton("pengiriman") == "pngrmn"
    assert skeleton("ttt") == "t"
    assert abbreviation_like("pmbyrn") and abbreviation_like("ongkr")
    assert not abbreviation_like("pembayaran")


def _fixer(vocabulary: dict[str, int]) -> TypoFixer:
    by_letter: dict[str, dict[str, int]] = {}
    for word, count in vocabulary.items():
        by_letter.setdefault(word[0], {})[word] = count
    return TypoFixer(by_letter, {}, {})


def test_a_vowel_dropped_abbreviation_is_read_as_the_word_it_stands_for() -> None:
    fixer = _fixer({"pembayaran": 3, "pengiriman": 5, "kirim": 4})
    assert fixer("pmbyrn", "pmbyrn") == "pembayaran"
    assert fixer("pngrmn", "pngrmn") == "pengiriman"
    assert fixer("krm", "krm") == "kirim"


def test_an_ambiguous_skeleton_is_left_alone_unless_one_word_clearly_dominates() -> None:
    # Two words with the skeleton "pngmbln", equally common: no guess.
    assert _fixer({"pengembalian": 2, "pengambilan": 2})("pngmbln", "pngmbln") is None
    # One in many entries, the other in one: the common one is meant.
    assert _fixer({"pengembalian": 6, "pengambilan": 1})("pngmbln", "pngmbln") == "pengembalian"
    # Too short to say anything.
    assert _fixer({"hal": 3})("hl", "hl") is None


def test_engine_repairs_abbreviations_against_its_own_index() -> None:
    entries = [
        Entry("pay", "Metode pembayaran apa saja?", "Transfer, kartu, dompet digital."),
        Entry("ship", "Berapa lama pengiriman?", "Dua sampai lima hari kerja."),
    ]
    engine = Engine(entries, Lexicon.published())
    assert "bayar" in engine.query_terms("mtd pmbyrn apa aja")
    assert engine.suggest("mtd pmbyrn apa aja")[0].faq_id == "pay"


def _toy_encoder(texts: object) -> np.ndarray:
    out = []
    for text in texts:  # type: ignore[attr-defined]
        v = np.zeros(64, dtype=np.float32)
        t = f"  {str(text).lower()}  "
        for i in range(len(t) - 2):
            v[hash(t[i : i + 3]) % 64] += 1.0
        out.append(v / (np.linalg.norm(v) or 1.0))
    return np.stack(out)


def test_cosines_are_standardised_within_each_language() -> None:
    engine = Engine(make_entries(), embedder=Embedder(_toy_encoder, "toy"))
    ranked = engine.rank("bayar di tempat", 20)
    assert ranked
    for r in ranked:
        assert {"z_ask", "z_passage", "z_tagged", "sem_gap"} <= set(r.features)
    stacked = engine._stacked(engine._state)
    assert stacked is not None
    langs = [{engine._state.snapshot.by_slot[int(s)].entry.lang for s in g} for g in stacked.groups]
    assert sorted(len(g) for g in langs) == [1, 1] and {"id", "en"} == set().union(*langs)


def test_a_language_with_too_few_entries_is_standardised_with_the_rest() -> None:
    entries = [*make_entries()[:5], Entry("en1", "Do you ship abroad?", "Yes.", lang="en")]
    engine = Engine(entries, embedder=Embedder(_toy_encoder, "toy"))
    stacked = engine._stacked(engine._state)
    assert stacked is not None and len(stacked.groups) == 1


def _cand(slot: int, strength: float) -> Candidate:
    feats = [0.0] * len(CANDIDATE_FEATURES)
    feats[CANDIDATE_FEATURES.index("log_strength")] = strength
    return Candidate(slot, tuple(feats))


def test_extra_evidence_trains_the_ranker_but_not_the_confidence() -> None:
    samples = [([_cand(0, 1.0 + i % 3), _cand(1, 0.5)], frozenset({i % 2})) for i in range(12)]
    extra = [([_cand(0, 2.0), _cand(1, 0.1)], frozenset({0})) for _ in range(12)]
    plain = fit_variant(samples, False)
    augmented = fit_variant(samples, False, extra)
    assert plain.ranker != augmented.ranker
    # The confidence is fitted on ``samples`` alone, ordered by each ranker.
    assert len(augmented.confidence.weights) == len(plain.confidence.weights)
