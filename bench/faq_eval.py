"""Evaluate the FAQ engine on the Toko Contoh set and time it at 60, 1,000 and 10,000 entries.

    python bench/faq_eval.py                 # quality + latency
    python bench/faq_eval.py --data DIR      # another copy of faq-eval
    python bench/faq_eval.py --skip-latency  # quality only
    python bench/faq_eval.py --fit           # refit the confidence model, print constants

Quality follows /work/shared/faq-eval/README.md: top-1 and recall@3 over the
answerable lines (ranking before the threshold), rejection over the
``gold: []`` lines and false rejection over the answerable ones, both at the
engine's own threshold. "Half A/B" splits every style into alternate lines
(A = 1st, 3rd, ... line of each style), the split used during development.

The engine is configured as a deployment would be: the shop's own name
("Toko Contoh") is a stopword phrase, because the chat server knows each
site's name and a shop name in a message says nothing about the question.
``--no-shop-name`` shows the figures without it.

Larger corpora for timing are synthesised: the 60 real entries plus variants
made from word pools (see ``synthesise``). Every query of dev.jsonl is timed
against each corpus, after one warm-up pass.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from faq import (  # noqa: E402
    Engine,
    Entry,
    Lexicon,
    calibration,
)

DEFAULT_DATA = ROOT.parent / "shared" / "faq-eval"
SHOP_NAME = "toko contoh"


@dataclass(frozen=True)
class Line:
    q: str
    gold: tuple[str, ...]
    style: str
    lang: str
    half: str


def load(data: Path) -> tuple[list[Entry], list[Line]]:
    raw = json.loads((data / "faq.json").read_text(encoding="utf-8"))
    entries = [
        Entry(
            id=e["id"],
            question=e["question"],
            answer=e["answer"],
            category=e.get("category", ""),
            tags=tuple(e.get("tags", ())),
            lang=e.get("lang", "id"),
        )
        for e in raw
    ]
    seen: dict[str, int] = defaultdict(int)
    lines = []
    for text in (data / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        if not text.strip():
            continue
        d = json.loads(text)
        n = seen[d["style"]]
        seen[d["style"]] += 1
        half = "A" if n % 2 == 0 else "B"
        lines.append(Line(d["q"], tuple(d["gold"]), d["style"], d.get("lang", ""), half))
    return entries, lines


def make_engine(entries: Sequence[Entry], shop_name: bool) -> Engine:
    lexicon = Lexicon.default()
    if shop_name:
        lexicon = lexicon.extended(stopwords=[SHOP_NAME])
    return Engine(entries, lexicon)


# -- quality ------------------------------------------------------------------


@dataclass
class Tally:
    answerable: int = 0
    top1: int = 0
    top3: int = 0
    false_rej: int = 0
    unanswerable: int = 0
    rejected: int = 0

    def add(self, line: Line, ids: list[str], top_score: float | None, threshold: float) -> None:
        below = top_score is None or top_score < threshold
        if line.gold:
            self.answerable += 1
            self.top1 += bool(ids) and ids[0] in line.gold
            self.top3 += any(i in line.gold for i in ids[:3])
            self.false_rej += below
        else:
            self.unanswerable += 1
            self.rejected += below

    def row(self, name: str) -> str:
        def pct(a: int, b: int) -> str:
            return f"{a / b:6.3f}" if b else "     -"

        return (
            f"{name:<24}{self.answerable:>4} {pct(self.top1, self.answerable)} "
            f"{pct(self.top3, self.answerable)} {self.unanswerable:>4} "
            f"{pct(self.rejected, self.unanswerable)} {pct(self.false_rej, self.answerable)}"
        )


def evaluate(engine: Engine, lines: Sequence[Line]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for line in lines:
        sugg = engine.suggest(line.q, 3)
        ids = [s.faq_id for s in sugg]
        top = sugg[0].score if sugg else None
        for key in ("ALL", f"half {line.half}", line.style):
            tallies[key].add(line, ids, top, engine.threshold)
    return tallies


def print_quality(tallies: dict[str, Tally], threshold: float) -> None:
    print(f"threshold = {threshold:.3f}")
    print(f"{'':<24}{'n':>4} {'top1':>6} {'r@3':>6} {'n[]':>4} {'rej':>6} {'f-rej':>6}")
    order = ["ALL", "half A", "half B"]
    styles = sorted(k for k in tallies if k not in order)
    for key in order:
        print(tallies[key].row(key))
    print("per style:")
    for key in styles:
        print(tallies[key].row("  " + key))


# -- calibration fit ------------------------------------------------------------


def _samples(
    engine: Engine, lines: Sequence[Line]
) -> list[tuple[Line, tuple[float, ...] | None, float]]:
    out: list[tuple[Line, tuple[float, ...] | None, float]] = []
    for line in lines:
        ranked = engine.rank(line.q, 1)
        if ranked:
            ok = 1.0 if line.gold and ranked[0].entry.id in line.gold else 0.0
            out.append((line, ranked[0].features.vector(), ok))
        else:
            out.append((line, None, 0.0))
    return out


def _predict(w: list[float], x: tuple[float, ...]) -> float:
    z = w[-1] + sum(a * b for a, b in zip(w, x, strict=False))
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def fit(engine: Engine, lines: Sequence[Line]) -> None:
    """Refit the logistic confidence model on rank-1 features; print constants.

    The label is "rank 1 is a gold answer" (so unanswerable lines are 0).
    Also fits on one half and scores the other, for an honest view of how
    rejection holds up on messages the model was not fitted on.
    """
    samples = _samples(engine, lines)
    train = [(x, y) for _, x, y in samples if x is not None]
    w = _logistic([x for x, _ in train], [y for _, y in train])
    print("WEIGHTS:", "(" + ", ".join(f"{v:.3f}" for v in w[:-1]) + ")")
    print(f"BIAS: {w[-1]:.3f}")
    print("features:", ", ".join(calibration.FEATURE_NAMES))
    print()
    print("cross-fit (fit on one half, judge the other) at the current threshold:")
    for fit_half, test_half in (("A", "B"), ("B", "A")):
        part = [(x, y) for line, x, y in samples if x is not None and line.half == fit_half]
        wh = _logistic([x for x, _ in part], [y for _, y in part])
        test = [(line, x) for line, x, _ in samples if line.half == test_half]
        none = [x for line, x in test if not line.gold]
        ans = [x for line, x in test if line.gold]
        th = engine.threshold
        rej = sum(1 for x in none if x is None or _predict(wh, x) < th)
        frej = sum(1 for x in ans if x is None or _predict(wh, x) < th)
        print(
            f"  fit {fit_half} -> half {test_half}: rejection {rej}/{len(none)}, "
            f"false rejection {frej}/{len(ans)}"
        )


def _logistic(xs: list[tuple[float, ...]], ys: list[float], l2: float = 0.1) -> list[float]:
    """Ridge-regularised logistic regression by Newton's method (pure Python, tiny data)."""
    d = len(xs[0]) + 1
    w = [0.0] * d
    rows = [(*x, 1.0) for x in xs]
    for _ in range(50):
        grad = [0.0] * d
        hess = [[0.0] * d for _ in range(d)]
        for r, y in zip(rows, ys, strict=True):
            z = sum(a * b for a, b in zip(w, r, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))
            for i in range(d):
                grad[i] += (p - y) * r[i]
                for j in range(d):
                    hess[i][j] += p * (1 - p) * r[i] * r[j]
        for i in range(d - 1):  # no penalty on the bias
            grad[i] += l2 * w[i]
            hess[i][i] += l2
        step = _solve(hess, grad)
        w = [a - b for a, b in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-9:
            break
    return w


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    m = [[*row[:], b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c and m[c][c]:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def threshold_table(engine: Engine, lines: Sequence[Line]) -> None:
    tops: list[tuple[Line, float | None]] = []
    for line in lines:
        sugg = engine.suggest(line.q, 1)
        tops.append((line, sugg[0].score if sugg else None))
    n_ans = sum(1 for line, _ in tops if line.gold)
    n_none = len(tops) - n_ans
    print(f"{'th':>5} {'rej':>6} {'f-rej':>6} {'balanced':>9}")
    for i in range(1, 20):
        th = i / 20
        rej = sum(1 for line, s in tops if not line.gold and (s is None or s < th)) / n_none
        frej = sum(1 for line, s in tops if line.gold and (s is None or s < th)) / n_ans
        print(f"{th:5.2f} {rej:6.3f} {frej:6.3f} {(rej + 1 - frej) / 2:9.3f}")


# -- synthetic corpora and latency ----------------------------------------------

PRODUCTS = (
    "kaos polos",
    "kemeja flanel",
    "jaket denim",
    "celana chino",
    "rok plisket",
    "hoodie",
    "sepatu lari",
    "sandal gunung",
    "sneakers kanvas",
    "tas ransel",
    "dompet kulit",
    "jam tangan",
    "kacamata",
    "topi",
    "laptop",
    "headphone",
    "earbuds",
    "kamera mirrorless",
    "blender",
    "setrika uap",
    "kipas angin",
    "rice cooker",
    "power bank",
    "charger",
    "mouse",
    "keyboard",
    "monitor",
    "printer",
    "speaker bluetooth",
    "smart tv",
    "tablet",
    "smartwatch",
    "hair dryer",
    "vacuum cleaner",
    "air fryer",
    "dispenser",
)
ATTRS = (
    "warna",
    "bahan",
    "ukuran",
    "model",
    "garansi",
    "stok",
    "harga",
    "berat",
    "kapasitas",
    "daya",
    "baterai",
    "tipe",
    "seri",
    "varian",
    "motif",
    "aksesoris",
    "kemasan",
    "manual",
)
ACTIONS = (
    "merawat",
    "mencuci",
    "memasang",
    "menyimpan",
    "mengganti",
    "membersihkan",
    "mengatur",
    "menghubungkan",
    "mengisi daya",
    "memperbarui",
    "memilih",
    "membandingkan",
    "memesan ulang",
    "mengecek keaslian",
    "mendaftarkan",
)
TEMPLATES_ID = (
    "Bagaimana cara {action} {product}?",
    "Apakah {product} punya pilihan {attr} lain?",
    "Berapa {attr} {product} seri {code}?",
    "Apa beda {product} {code} dengan versi sebelumnya?",
    "Apakah {product} {code} cocok untuk pemakaian harian?",
)
TEMPLATES_EN = (
    "How do I {action_en} the {product}?",
    "Does the {product} {code} come in another {attr_en}?",
    "What is the {attr_en} of the {product} {code}?",
)
ACTIONS_EN = ("clean", "install", "store", "charge", "pair", "update", "reset", "maintain")
ATTRS_EN = ("colour", "size", "material", "capacity", "weight", "battery life", "model")


def synthesise(real: Sequence[Entry], total: int, seed: int = 7) -> list[Entry]:
    """The real entries plus ``total - len(real)`` product-FAQ variants.

    Each variant has a templated question about a product (word pools above,
    plus a unique model code so the vocabulary grows with the corpus), 3-6
    tags drawn from the pools and the real tags, and an answer of 3-5
    sentences sampled from the real answers. This gives long posting lists
    for the common shop words, as a big FAQ would.
    """
    rng = random.Random(seed)
    sentences = [s.strip() + "." for e in real for s in e.answer.split(". ") if len(s) > 20]
    real_tags = [t for e in real for t in e.tags]
    out = list(real)
    for i in range(total - len(real)):
        product = rng.choice(PRODUCTS)
        code = f"{rng.choice('ABCDEFGHKMPRSTX')}{rng.randint(10, 9999)}"
        english = rng.random() < 0.25
        if english:
            question = rng.choice(TEMPLATES_EN).format(
                action_en=rng.choice(ACTIONS_EN),
                product=product,
                code=code,
                attr_en=rng.choice(ATTRS_EN),
            )
        else:
            question = rng.choice(TEMPLATES_ID).format(
                action=rng.choice(ACTIONS), product=product, attr=rng.choice(ATTRS), code=code
            )
        tags = tuple(
            {
                product,
                code.lower(),
                *rng.sample(ATTRS, 2),
                *rng.sample(real_tags, rng.randint(1, 3)),
            }
        )
        answer = f"Untuk {product} {code}: " + " ".join(rng.sample(sentences, rng.randint(3, 5)))
        out.append(
            Entry(
                id=f"syn-{i:05d}",
                question=question,
                answer=answer,
                category="products",
                tags=tags,
                lang="en" if english else "id",
            )
        )
    return out


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def latency(real: Sequence[Entry], lines: Sequence[Line], shop_name: bool, passes: int) -> None:
    queries = [line.q for line in lines]
    print(
        f"{'entries':>8} {'build s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'cold p99':>9} {'upsert ms':>10} {'remove ms':>10}"
    )
    for size in (len(real), 1_000, 10_000):
        corpus = synthesise(real, size) if size > len(real) else list(real)
        t0 = time.perf_counter()
        engine = make_engine(corpus, shop_name)
        build = time.perf_counter() - t0
        # Cold pass: first sight of each query's words (stemming, typo lookups).
        cold = []
        for q in queries:
            t = time.perf_counter()
            engine.suggest(q, 3)
            cold.append((time.perf_counter() - t) * 1000)
        warm = []
        for _ in range(passes):
            for q in queries:
                t = time.perf_counter()
                engine.suggest(q, 3)
                warm.append((time.perf_counter() - t) * 1000)
        # A live edit: replace one entry, then remove it again.
        victim = corpus[len(corpus) // 2]
        edited = Entry(
            victim.id, victim.question + " (diperbarui)", victim.answer, tags=victim.tags
        )
        t = time.perf_counter()
        engine.upsert(edited)
        up = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        engine.remove(victim.id)
        rm = (time.perf_counter() - t) * 1000
        print(
            f"{size:>8} {build:>8.2f} {statistics.median(warm):>8.3f} "
            f"{percentile(warm, 99):>8.3f} {max(warm):>8.3f} {percentile(cold, 99):>9.3f} "
            f"{up:>10.2f} {rm:>10.2f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="faq-eval directory")
    ap.add_argument("--no-shop-name", action="store_true", help="do not stop the shop's name")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--passes", type=int, default=5, help="timed passes over dev per corpus")
    ap.add_argument("--fit", action="store_true", help="refit the confidence model")
    args = ap.parse_args(argv)

    entries, lines = load(args.data)
    shop = not args.no_shop_name
    engine = make_engine(entries, shop)
    if args.fit:
        fit(engine, lines)
        print()
        threshold_table(engine, lines)
        return 0

    print(f"== quality on {args.data / 'dev.jsonl'} ({len(lines)} lines, {len(entries)} entries)")
    print(f"   shop name as stopword: {'yes' if shop else 'no'}")
    print_quality(evaluate(engine, lines), engine.threshold)
    if shop:
        other = evaluate(make_engine(entries, False), lines)["ALL"]
        print("without the shop-name stopword:", other.row("ALL").split(None, 1)[1])
    if not args.skip_latency:
        print()
        print(f"== latency per suggest() call, {len(lines)} dev queries x {args.passes} passes")
        latency(entries, lines, shop, args.passes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
