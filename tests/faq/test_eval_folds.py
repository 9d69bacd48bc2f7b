"""The bench's repeated cross-validation: reshuffled folds stay stratified and fixed by seed."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "faq_eval.py"


@pytest.fixture(scope="module")
def faq_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("faq_eval_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _lines(faq_eval: ModuleType) -> list:  # type: ignore[type-arg]
    line = faq_eval.Line
    out = []
    for style, n_ans, n_un in (("casual", 13, 3), ("typo", 12, 2), ("long", 7, 0)):
        out += [line(f"{style} q{i}", (f"e{i}",), style, "id", "A") for i in range(n_ans)]
        out += [line(f"{style} off{i}", (), style, "id", "A") for i in range(n_un)]
    return out


def test_reshuffled_folds_keep_every_group_spread_over_all_folds(faq_eval: ModuleType) -> None:
    lines = _lines(faq_eval)
    folds = faq_eval.reshuffled_folds(lines, 1)
    assert set(folds) == set(lines)
    k = faq_eval.FOLDS
    sizes = Counter(folds.values())
    assert max(sizes.values()) - min(sizes.values()) <= 1
    for style in ("casual", "typo", "long"):
        for answerable in (True, False):
            group = [ln for ln in lines if ln.style == style and bool(ln.gold) == answerable]
            per_fold = Counter(folds[ln] for ln in group)
            # Each fold holds floor or ceil of the group's share.
            assert all(len(group) // k <= per_fold[f] <= -(-len(group) // k) for f in range(k))


def test_reshuffled_folds_are_fixed_by_the_seed_and_differ_between_seeds(
    faq_eval: ModuleType,
) -> None:
    lines = _lines(faq_eval)
    assert faq_eval.reshuffled_folds(lines, 2) == faq_eval.reshuffled_folds(lines, 2)
    assert faq_eval.reshuffled_folds(lines, 2) != faq_eval.reshuffled_folds(lines, 3)


def test_a_repeated_message_never_sits_on_both_sides_of_a_split(faq_eval: ModuleType) -> None:
    lines = _lines(faq_eval)
    lines.append(lines[0])
    folds = faq_eval.reshuffled_folds(lines, 5)
    assert len(folds) == len(lines) - 1


def test_summary_gives_mean_and_range_per_figure(faq_eval: ModuleType) -> None:
    def split(rejected: int, false_rej: int) -> object:
        tally = faq_eval.Tally(
            answerable=10, top1=9, top3=10, false_rej=false_rej, unanswerable=5, rejected=rejected
        )
        return faq_eval.Split("s", {"ALL": tally}, [], [], 0.5)

    stats = faq_eval.summarise([split(4, 1), split(5, 0), split(3, 2)], "ALL")
    assert stats[0] == pytest.approx((0.9, 0.9, 0.9))
    assert stats[2] == pytest.approx((0.8, 0.6, 1.0))
    assert stats[3] == pytest.approx((0.1, 0.0, 0.2))
    assert faq_eval.summarise([split(4, 1)], "absent") == [None] * 4
