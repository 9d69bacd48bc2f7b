"""Learned ranking and calibrated confidence over the engine's evidence.

Two small logistic regressions, fitted by ``python bench/faq_eval.py --write-model`` on the
development set and shipped as data (``faq/data/ranker.json``):

1. the **ranker** scores every candidate (pointwise: "is this entry a right
   answer?") from features that compare it with the other candidates, and the
   candidates are ordered by that score;
2. the **confidence** model turns the top candidate's ranker score, its lead
   over the second and how much of the message it explains into a probability
   that the answer is right (unanswerable messages are negatives, and so is
   every training message asked of the FAQ without its right entry: what
   "right entry absent" looks like).

Each comes in two variants: with the embedding features and without (when the
model is absent or skipped under load), so confidence stays calibrated on the
lexical path alone. Features are ratios and coverages, not raw BM25 scores, so
that they carry over between shops of different sizes.
"""

from __future__ import annotations

import json
import math
import operator
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
# Confidence features of rank 1, lexical first (the lexical variant uses
# only those). Chosen on dev cross-validation (issue 12, docs/faq-engine.md
# "Calibrated rejection"): besides the ranker's score and lead, how much of the
# message the entry explains and how far it stands out from the next entry,
# in words and in meaning; all ratios, so they carry over between FAQ sizes.
CONFIDENCE_FEATURES = (
    "top_logit",
    "logit_margin",  # lead of rank 1 over rank 2
    "coverage",
    "key_coverage",
    "question_coverage",
    "strong",  # IDF share of the message's content words matched: common words never do it
    "log_strength",
    "asks_same",
    "asks_other",
    "lex_lead",  # rank 1's BM25F minus the best other's, in IDF units of an unseen term
    "cos",
    "cos_lead",  # rank 1's cosine minus the mean of the others: does it stand out?
    "sem_z",  # rank 1's standardised cosines (z_ask, z_passage, z_tagged), averaged
    "z_ask",
    "z_passage",
    "sem_lead",  # rank 1's mean standardised cosine minus the best other's
)
CONFIDENCE_SEMANTIC_ONLY = ("cos", "cos_lead", "sem_z", "z_ask", "z_passage", "sem_lead")
N_CONFIDENCE_LEXICAL = len(CONFIDENCE_FEATURES) - len(CONFIDENCE_SEMANTIC_ONLY)
# Stand-in for the lead of a lone candidate (nothing to be confused with).
LONE_LEAD = 5.0


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
        if len(x) != len(self.weights):
            raise ValueError(f"{len(x)} features for {len(self.weights)} weights")
        return self.bias + sum(map(operator.mul, self.weights, x))


_LEXICAL_FEATURES = operator.itemgetter(
    *(i for i, name in enumerate(CANDIDATE_FEATURES) if name not in SEMANTIC_ONLY)
)


def _mask(features: Sequence[float], semantic: bool) -> tuple[float, ...]:
    if len(features) != len(CANDIDATE_FEATURES):
        raise ValueError(f"{len(features)} features, not {len(CANDIDATE_FEATURES)}")
    return tuple(features) if semantic else _LEXICAL_FEATURES(features)


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
    # With the embedding: average the semantic variant's confidence with the
    # words-only variant's opinion of the same rank 1 (see ``confidence``).
    blend: bool = False

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
        p = _sigmoid(v.confidence(confidence_features(ordered, v.uses_embedding)))
        if not (self.blend and v.uses_embedding):
            return p
        return (p + self._words_opinion(ordered)) / 2.0

    def _words_opinion(self, ordered: Sequence[tuple[Candidate, float]]) -> float:
        """The words-only variant's confidence in the rank 1 of ``ordered``.

        The two variants err on different messages (meaning pulls a right
        paraphrase towards a neighbour; shared shop words pull an off-topic
        question towards an entry), so their mean is steadier than either.
        When the words-only ranker puts another entry first, its confidence
        in ours is its rank 1's scaled by exp(our logit - its rank 1's), as
        lower ranks are scaled in the engine. No new pass over the message:
        the candidates already carry the lexical features.
        """
        lex = self.order([c for c, _ in ordered], False)
        p = _sigmoid(self.lexical.confidence(confidence_features(lex, False)))
        top = ordered[0][0].slot
        z_top = next(z for c, z in lex if c.slot == top)
        return p * math.exp(min(0.0, z_top - lex[0][1]))

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
            "blend": self.blend,
            "semantic": var(self.semantic),
            "lexical": var(self.lexical),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Model:
        if list(data["candidate_features"]) != list(CANDIDATE_FEATURES) or list(  # type: ignore[call-overload]
            data.get("confidence_features", ())  # type: ignore[call-overload]
        ) != list(CONFIDENCE_FEATURES):
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

        return cls(
            variant("semantic"),
            variant("lexical"),
            float(data["threshold"]),  # type: ignore[arg-type]
            blend=bool(data.get("blend", False)),
        )

    @classmethod
    def untrained(cls) -> Model:
        """All-zero coefficients: a stand-in while the features change, before a refit."""
        n_sem, n_lex = len(CANDIDATE_FEATURES), len(CANDIDATE_FEATURES) - len(SEMANTIC_ONLY)
        n_conf = len(CONFIDENCE_FEATURES)
        sem = Variant(Linear((0.0,) * n_sem, 0.0), Linear((0.0,) * n_conf, 0.0), True)
        lex = Variant(
            Linear((0.0,) * n_lex, 0.0), Linear((0.0,) * N_CONFIDENCE_LEXICAL, 0.0), False
        )
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
    """Rank 1's evidence for the confidence model, in CONFIDENCE_FEATURES order."""
    top, z1 = ordered[0]
    z2 = ordered[1][1] if len(ordered) > 1 else z1 - LONE_LEAD
    f = dict(zip(CANDIDATE_FEATURES, top.features, strict=True))
    rest = [c.features for c, _ in ordered[1:]]

    def lead(name: str) -> float:
        i = _INDEX[name]
        return f[name] - max((r[i] for r in rest), default=f[name] - LONE_LEAD)

    x = (
        z1,
        z1 - z2,
        f["coverage"],
        f["key_coverage"],
        f["question_coverage"],
        f["strong"],
        f["log_strength"],
        f["asks_same"],
        f["asks_other"],
        lead("lex_gap"),  # gaps share the best's score, so their difference is the lead
    )
    if not semantic:
        return x
    cos = [r[_INDEX["cos"]] for r in rest]
    cos_lead = f["cos"] - (sum(cos) / len(cos) if cos else 0.0)
    sem_z = (f["z_ask"] + f["z_passage"] + f["z_tagged"]) / 3.0
    return (*x, f["cos"], cos_lead, sem_z, f["z_ask"], f["z_passage"], lead("sem_gap"))


_INDEX = {name: i for i, name in enumerate(CANDIDATE_FEATURES)}


# -- fitting (used by bench/faq_train.py and the cross-validation in bench/faq_eval.py) --


def fit_logistic(
    xs: Sequence[Sequence[float]],
    ys: Sequence[float],
    l2: float = 1.0,
    weights: Sequence[float] | None = None,
) -> Linear:
    """Ridge-regularised logistic regression by Newton's method (small data).

    ``weights``: per-sample weights (default 1), for negatives that stand in
    for a kind of message in bulk.
    """
    raw = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    sw = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    # Standardised features, so that one penalty treats them alike (cosines
    # vary over a few hundredths, log strengths over units).
    mean = np.average(raw, axis=0, weights=sw)
    std = np.sqrt(np.average((raw - mean) ** 2, axis=0, weights=sw))
    std[std < 1e-9] = 1.0
    x = (raw - mean) / std
    n, d = x.shape
    a = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # no penalty on the bias
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -40, 40)))
        grad = a.T @ (sw * (p - y)) + penalty * w
        hess = (a * (sw * p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(d + 1)
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
# at most this share of the answerable ones (lowest such threshold on ties),
# applied to out-of-fold confidences (bench/faq_eval.py). 0.08 chosen on dev
# cross-validation among 0.06, 0.08 and 0.10 (issue 12, docs/faq-engine.md):
# in-sample confidences of the training lines are surer than a new message's,
# so the bound used to be applied to optimistic figures.
MAX_FALSE_REJECTION = 0.08
# Weight of each missing-entry negative (an answerable line asked of the FAQ
# without its right entry) in the confidence fit: 0.15, 0.4 and 1 compared on
# dev CV; at 0.15 the ~100 of them weigh about as much as the ~12 real
# unanswerable lines of the training folds.
MISSING_WEIGHT = 0.15
# Ridge penalties the confidence model chooses from, by out-of-fold log loss.
L2_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)


def choose_threshold(
    scored: Sequence[tuple[bool, float]], max_false_rejection: float = MAX_FALSE_REJECTION
) -> float:
    """``scored``: (answerable, top confidence) per message."""
    n_ans = sum(1 for a, _ in scored if a) or 1
    best_rej, best_th = -1, THRESHOLD_GRID[0]
    for th in THRESHOLD_GRID:
        if sum(1 for a, s in scored if a and s < th) / n_ans > max_false_rejection:
            break
        rej = sum(1 for a, s in scored if not a and s < th)
        if rej > best_rej:
            best_rej, best_th = rej, th
    return best_th


def fit_ranker(samples: Sequence[Sample], semantic: bool, extra: Sequence[Sample] = ()) -> Linear:
    """Pointwise ranker on every candidate of the samples that have a gold one."""
    xs: list[tuple[float, ...]] = []
    ys: list[float] = []
    for cands, gold in (*samples, *extra):
        if not gold or not any(c.slot in gold for c in cands):
            continue  # nothing to learn about ordering from these
        for c in cands:
            xs.append(_mask(c.features, semantic))
            ys.append(1.0 if c.slot in gold else 0.0)
    return fit_logistic(xs, ys)


def confidence_rows(
    ranker: Linear, samples: Sequence[Sample], semantic: bool
) -> list[tuple[tuple[float, ...], float]]:
    """(features, rank 1 is gold) per sample with candidates, ordered by ``ranker``."""
    stub = Variant(ranker, Linear((), 0.0), semantic)
    model = Model(stub, stub, 0.5)
    rows = []
    for cands, gold in samples:
        if cands:
            ordered = model.order(cands, semantic)
            rows.append((confidence_features(ordered, semantic), float(ordered[0][0].slot in gold)))
    return rows


def fit_confidence(
    ranker: Linear,
    samples: Sequence[Sample],
    semantic: bool,
    negatives: Sequence[Sample] = (),
    l2: float = 1.0,
) -> Linear:
    """Confidence of rank 1 on ``samples``, plus ``negatives`` (at MISSING_WEIGHT each).

    ``negatives`` are messages that no entry answers although the FAQ is about
    their topic: the missing-entry lines, which teach what "right entry absent"
    looks like from many examples instead of a dozen off-topic ones.
    """
    rows = confidence_rows(ranker, samples, semantic)
    neg = [(x, 0.0) for x, _ in confidence_rows(ranker, negatives, semantic)]
    weights = [1.0] * len(rows) + [MISSING_WEIGHT] * len(neg)
    rows += neg
    return fit_logistic([x for x, _ in rows], [y for _, y in rows], l2, weights)


def fit_variant(
    samples: Sequence[Sample],
    semantic: bool,
    extra: Sequence[Sample] = (),
    negatives: Sequence[Sample] = (),
    l2: float = 1.0,
) -> Variant:
    """The ranker fitted on ``samples`` and ``extra``; the confidence on ``samples`` and
    ``negatives``."""
    ranker = fit_ranker(samples, semantic, extra)
    return Variant(ranker, fit_confidence(ranker, samples, semantic, negatives, l2), semantic)


def fit(
    samples: Sequence[Sample], semantic: bool = True, negatives: Sequence[Sample] = ()
) -> Model:
    """Both variants and one threshold, chosen on the confidences of both (in-sample).

    Both variants output calibrated probabilities, so one bar serves whichever
    ran for a message. With ``semantic=False`` (no model to fit with) the
    semantic variant is the lexical one. The shipped model is fitted with
    out-of-fold thresholds and a chosen penalty by ``bench/faq_eval.py``; this
    is the plain version of the same fit.
    """
    lex = fit_variant(samples, False, negatives=negatives)
    sem = fit_variant(samples, True, negatives=negatives) if semantic else lex
    model = Model(sem, lex, 0.5)
    scored = [
        (bool(gold), model.confidence(model.order(cands, s), s) if cands else 0.0)
        for cands, gold in (*samples, *negatives)
        for s in (True, False)
    ]
    return Model(sem, lex, choose_threshold(scored))
