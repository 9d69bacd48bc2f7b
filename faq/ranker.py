"""Learned ranking and calibrated confidence over the engine's evidence.

Two small logistic regressions, fitted by ``python bench/faq_eval.py --write-model`` on the
development set and shipped as data (``faq/data/ranker.json``):

1. the **ranker** scores every candidate (pointwise: "is this entry a right
   answer?") from features that compare it with the other candidates, and the
   candidates are ordered by that score;
2. the **confidence** model turns the top candidate's ranker score, its lead
   over the second and how much of the message it explains into a probability
   that the answer is right (unanswerable messages are negatives).

Each comes in two variants: with the embedding features and without (when the
model is absent or skipped under load), so confidence stays calibrated on the
lexical path alone. Features are ratios and coverages, not raw BM25 scores, so
that they carry over between shops of different sizes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_FILE = Path(__file__).parent / "data" / "ranker.json"

CANDIDATE_FEATURES = (
    "log_strength",  # log(1 + BM25F / IDF of an unseen term): "rare terms matched"
    "coverage",  # share of the message's IDF mass the entry matches anywhere
    "key_coverage",  # the same, in question, phrasings and tags only
    "question_coverage",  # share of the entry's own question terms found: specificity
    "lex_gap",  # (score - best score) / IDF of an unseen term; 0 for the best
    "strong",  # share of the message's content terms (not function words) matched
    "cos",  # embedding cosine with the entry's question/phrasings (0 without model)
    "cos_gap",  # cosine - best cosine among candidates (0 without model)
    # Cosines in standard deviations above the mean over all entries, per kind
    # of entry row: question/phrasings, passage (question + answer), question + tags.
    "z_ask",
    "z_passage",
    "z_tagged",
    "sem_gap",  # mean of the three minus the best such mean among candidates
    # Question types (faq/intent.py) of the message against the entry's question:
    "asks_same",  # 1 when they share a type (how, why, how long, ...)
    "asks_other",  # 1 when both ask something and nothing in common
)
SEMANTIC_ONLY = ("cos", "cos_gap", "z_ask", "z_passage", "z_tagged", "sem_gap")
CONFIDENCE_FEATURES = (
    "top_logit",
    "logit_margin",  # lead of rank 1 over rank 2
    "coverage",
    "key_coverage",
    "cos",
    "cos_lead",  # rank 1's cosine minus the mean of the others: does it stand out?
    "sem_z",  # rank 1's standardised cosines (z_ask, z_passage, z_tagged), averaged
)


@dataclass(frozen=True)
class Candidate:
    """One entry the engine considers for a message, with its raw evidence."""

    slot: int
    features: tuple[float, ...]  # in CANDIDATE_FEATURES order


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


@dataclass(frozen=True)
class Linear:
    weights: tuple[float, ...]
    bias: float

    def __call__(self, x: Sequence[float]) -> float:
        return self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True))


def _mask(features: Sequence[float], semantic: bool) -> tuple[float, ...]:
    if semantic:
        return tuple(features)
    return tuple(
        v for name, v in zip(CANDIDATE_FEATURES, features, strict=True) if name not in SEMANTIC_ONLY
    )


@dataclass(frozen=True)
class Variant:
    ranker: Linear
    confidence: Linear
    uses_embedding: bool


@dataclass(frozen=True)
class Model:
    """Fitted coefficients (both variants) and the answer threshold."""

    semantic: Variant
    lexical: Variant
    threshold: float
    feature_names: tuple[str, ...] = CANDIDATE_FEATURES

    def order(
        self, candidates: Sequence[Candidate], semantic: bool
    ) -> list[tuple[Candidate, float]]:
        """Candidates best first with their ranker logits."""
        v = self.semantic if semantic else self.lexical
        scored = [(c, v.ranker(_mask(c.features, v.uses_embedding))) for c in candidates]
        scored.sort(key=lambda cz: (-cz[1], cz[0].slot))
        return scored

    def confidence(self, ordered: Sequence[tuple[Candidate, float]], semantic: bool) -> float:
        """Probability that the first of ``ordered`` answers the message."""
        if not ordered:
            return 0.0
        v = self.semantic if semantic else self.lexical
        return _sigmoid(v.confidence(confidence_features(ordered, v.uses_embedding)))

    def to_json(self) -> dict[str, object]:
        def lin(x: Linear) -> dict[str, object]:
            return {"weights": [round(w, 5) for w in x.weights], "bias": round(x.bias, 5)}

        def var(v: Variant) -> dict[str, object]:
            return {
                "ranker": lin(v.ranker),
                "confidence": lin(v.confidence),
                "uses_embedding": v.uses_embedding,
            }

        return {
            "candidate_features": list(CANDIDATE_FEATURES),
            "confidence_features": list(CONFIDENCE_FEATURES),
            "threshold": self.threshold,
            "semantic": var(self.semantic),
            "lexical": var(self.lexical),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Model:
        if list(data["candidate_features"]) != list(CANDIDATE_FEATURES):  # type: ignore[call-overload]
            raise ValueError(
                "ranker.json was fitted on other features: run python bench/faq_eval.py --write-model"
            )

        def variant(name: str) -> Variant:
            part: dict[str, dict[str, object]] = data[name]  # type: ignore[assignment]
            ranker, conf = (
                Linear(tuple(part[k]["weights"]), float(part[k]["bias"]))  # type: ignore[arg-type]
                for k in ("ranker", "confidence")
            )
            return Variant(ranker, conf, bool(part["uses_embedding"]))

        return cls(variant("semantic"), variant("lexical"), float(data["threshold"]))  # type: ignore[arg-type]

    @classmethod
    def untrained(cls) -> Model:
        """All-zero coefficients: a stand-in while the features change, before a refit."""
        n_sem, n_lex = len(CANDIDATE_FEATURES), len(CANDIDATE_FEATURES) - len(SEMANTIC_ONLY)
        n_conf = len(CONFIDENCE_FEATURES)
        sem = Variant(Linear((0.0,) * n_sem, 0.0), Linear((0.0,) * n_conf, 0.0), True)
        lex = Variant(Linear((0.0,) * n_lex, 0.0), Linear((0.0,) * (n_conf - 3), 0.0), False)
        return cls(sem, lex, 0.5)

    @classmethod
    def default(cls) -> Model:
        global _DEFAULT
        if _DEFAULT is None:
            _DEFAULT = cls.from_json(json.loads(DATA_FILE.read_text(encoding="utf-8")))
        return _DEFAULT


_DEFAULT: Model | None = None


def confidence_features(
    ordered: Sequence[tuple[Candidate, float]], semantic: bool
) -> tuple[float, ...]:
    top, z1 = ordered[0]
    z2 = ordered[1][1] if len(ordered) > 1 else z1 - 5.0
    f = dict(zip(CANDIDATE_FEATURES, top.features, strict=True))
    x = (z1, z1 - z2, f["coverage"], f["key_coverage"])
    if not semantic:
        return x
    idx = CANDIDATE_FEATURES.index("cos")
    others = [c.features[idx] for c, _ in ordered[1:]]
    lead = f["cos"] - (sum(others) / len(others) if others else 0.0)
    sem_z = (f["z_ask"] + f["z_passage"] + f["z_tagged"]) / 3.0
    return (*x, f["cos"], lead, sem_z)


# -- fitting (used by bench/faq_train.py and the cross-validation in bench/faq_eval.py) --


def fit_logistic(xs: Sequence[Sequence[float]], ys: Sequence[float], l2: float = 1.0) -> Linear:
    """Ridge-regularised logistic regression by Newton's method (small data)."""
    raw = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    # Standardised features, so that one penalty treats them alike (cosines
    # vary over a few hundredths, log strengths over units).
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    std[std < 1e-9] = 1.0
    x = (raw - mean) / std
    n, d = x.shape
    a = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # no penalty on the bias
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -40, 40)))
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    coef = w[:-1] / std
    return Linear(tuple(float(v) for v in coef), float(w[-1] - np.sum(coef * mean)))


# A training sample: the candidates of one message and which slots are gold.
Sample = tuple[Sequence[Candidate], frozenset[int]]

THRESHOLD_GRID = tuple(i / 100 for i in range(1, 100))
# Threshold rule: the most rejections of unanswerable messages while rejecting
# at most this share of the answerable ones (lowest such threshold on ties).
# 0.06 chosen on dev cross-validation among 0.04-0.08 (issue 12, see
# docs/faq-engine.md): with the augmented rankers 0.08 cost false rejections
# for no more rejections, 0.05 and below lost rejections.
MAX_FALSE_REJECTION = 0.06


def choose_threshold(scored: Sequence[tuple[bool, float]]) -> float:
    """``scored``: (answerable, top confidence) per message."""
    n_ans = sum(1 for a, _ in scored if a) or 1
    best_rej, best_th = -1, THRESHOLD_GRID[0]
    for th in THRESHOLD_GRID:
        if sum(1 for a, s in scored if a and s < th) / n_ans > MAX_FALSE_REJECTION:
            break
        rej = sum(1 for a, s in scored if not a and s < th)
        if rej > best_rej:
            best_rej, best_th = rej, th
    return best_th


def fit_variant(samples: Sequence[Sample], semantic: bool, extra: Sequence[Sample] = ()) -> Variant:
    """The ranker fitted on ``samples`` and ``extra``; the confidence on ``samples`` only."""
    xs: list[tuple[float, ...]] = []
    ys: list[float] = []
    for cands, gold in (*samples, *extra):
        if not gold or not any(c.slot in gold for c in cands):
            continue  # nothing to learn about ordering from these
        for c in cands:
            xs.append(_mask(c.features, semantic))
            ys.append(1.0 if c.slot in gold else 0.0)
    ranker = fit_logistic(xs, ys)
    stub = Variant(ranker, Linear((), 0.0), semantic)
    cx: list[tuple[float, ...]] = []
    cy: list[float] = []
    for cands, gold in samples:
        if not cands:
            continue
        ordered = Model(stub, stub, 0.5).order(cands, semantic)
        cx.append(confidence_features(ordered, semantic))
        cy.append(1.0 if ordered[0][0].slot in gold else 0.0)
    return Variant(ranker, fit_logistic(cx, cy), semantic)


def fit(samples: Sequence[Sample], semantic: bool = True) -> Model:
    """Both variants and one threshold, chosen on the confidences of both.

    Both variants output calibrated probabilities, so one bar serves whichever
    ran for a message. With ``semantic=False`` (no model to fit with) the
    semantic variant is the lexical one.
    """
    lex = fit_variant(samples, False)
    sem = fit_variant(samples, True) if semantic else lex
    model = Model(sem, lex, 0.5)
    scored = [
        (bool(gold), model.confidence(model.order(cands, s), s) if cands else 0.0)
        for cands, gold in samples
        for s in (True, False)
    ]
    return Model(sem, lex, choose_threshold(scored))
