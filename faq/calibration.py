"""Confidence model: ranking features -> probability that the suggestion is right.

A logistic regression fitted on the development set
(``python bench/faq_eval.py --fit`` prints fresh values). The features are
chosen to travel between shops: ratios and coverages rather than raw BM25
scores, whose scale grows with the size of the FAQ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Features:
    """What the confidence model sees about one candidate."""

    strength: float  # BM25F score / the IDF of an unseen term: "rare terms matched"
    coverage: float  # share of the message's IDF mass the entry matches anywhere
    key_coverage: float  # same, counting only question, phrasings and tags
    question_coverage: float  # share of the entry question's IDF mass the message matches
    # (score - best other candidate's score) / the IDF of an unseen term; < 0 below rank 1
    margin: float

    def vector(self) -> tuple[float, ...]:
        return (
            math.log1p(self.strength),
            self.coverage,
            self.key_coverage,
            self.question_coverage,
            self.margin,
        )


FEATURE_NAMES = ("log_strength", "coverage", "key_coverage", "question_coverage", "margin")

# Fitted by `python bench/faq_eval.py --fit` on /work/shared/faq-eval/dev.jsonl.
WEIGHTS: tuple[float, ...] = (2.148, 2.235, 3.076, 2.518, 2.541)
BIAS: float = -3.508
# The engine's bar: answer when the model says the top suggestion is more
# likely right than wrong, as chosen on dev (see docs/faq-engine.md).
THRESHOLD: float = 0.5


def confidence(features: Features) -> float:
    z = BIAS + sum(w * x for w, x in zip(WEIGHTS, features.vector(), strict=True))
    if z < -40.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))
