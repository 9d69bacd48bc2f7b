"""The words-only ranking's fast ways give what the plain ways give.

Short posting lists are added up in Python and long ones with numpy; question
types are read in one scan; IDF and question masses are kept per snapshot.
Each must leave every ranking exactly as it was.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from faq import Engine, Entry
from faq import engine as engine_module
from faq.intent import _PATTERNS, question_types

from .conftest import make_entries

DEV = Path(__file__).resolve().parents[3] / "shared" / "faq-eval" / "dev.jsonl"

MESSAGES = [
    "Bagaimana cara menghitung ongkos kirim ke Medan?",
    "gmn kak, ongkir ke medan brp?",
    "berapa lama refund masuk? dana belum masuk ke rekening",
    "How long does a refund take and how much is shipping?",
    "barang rusak, apa yang harus saya lakukan? mau retur",
    "kapan paket sampai, kurir belum datang",
    "can I pay cash on delivery? bayar di tempat bisa?",
    "ukuran sepatu kekecilan, bisa tukar ukuran?",
]


def _dev_lines() -> list[str]:
    if not DEV.exists():
        return []
    return [json.loads(line)["q"] for line in DEV.read_text("utf-8").splitlines() if line.strip()]


def _search_each(text: str) -> frozenset[str]:
    """The plain reading: one search per question type."""
    return frozenset(name for name, pattern in _PATTERNS if pattern.search(text))


@pytest.mark.parametrize(
    "text",
    [
        "berapa lama? berapa harganya",
        "berapa jam",  # neither: a unit of time follows, but not one of duration's
        "harus bagaimana caranya",  # what to do, and how, overlapping
        "bagaimana cara\nkenapa",
        "how come it is late, how long, how much, where, who, what should i do",
        "dimana kemana di mana",
        "",
        "tidak ada pertanyaan di sini",
    ],
)
def test_one_scan_reads_the_same_types_as_a_search_per_type(text: str) -> None:
    assert question_types(text) == _search_each(text)


def test_one_scan_matches_a_search_per_type_on_shoppers_lines() -> None:
    lines = _dev_lines() + MESSAGES
    for line in lines:
        text = line.lower()
        assert question_types(text) == _search_each(text), line


def _ranked(engine: Engine, texts: list[str]) -> list[list[tuple[str, float, tuple[float, ...]]]]:
    return [
        [
            (r.entry.id, r.logit, tuple(r.features.values()))
            for r in engine.rank(t, 10, semantic=False)
        ]
        for t in texts
    ]


def _crowded_faq(n: int) -> list[Entry]:
    """``n`` entries sharing shop words, so that some posting lists are long."""
    rng = random.Random(5)
    things = ["sepatu", "tas", "kaos", "jaket", "celana", "topi", "dompet", "kemeja"]
    asks = ["ukuran", "warna", "bahan", "stok", "harga", "garansi", "cara cuci", "berat"]
    entries = list(make_entries())
    for i in range(n):
        thing, ask = rng.choice(things), rng.choice(asks)
        entries.append(
            Entry(
                f"p{i:04d}",
                f"Bagaimana {ask} {thing} model {i}?",
                f"Untuk {thing} model {i}, {ask} tertera di halaman produk. Ongkos kirim dihitung"
                " dari berat paket.",
                "product",
                (thing, ask),
            )
        )
    return entries


def test_the_short_and_the_vectorised_sums_rank_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(_crowded_faq(120))
    texts = [
        *MESSAGES,
        "harga sepatu model 7 berapa?",
        "ukuran jaket model 12 dan warna kaos",
        "stok tas masih ada?",
    ]
    monkeypatch.setattr(engine_module, "SHORT_POSTING", 10**9)
    in_python = _ranked(engine, texts)
    monkeypatch.setattr(engine_module, "SHORT_POSTING", 0)
    with_numpy = _ranked(engine, texts)
    assert in_python == with_numpy
    assert any(len(r) > 3 for r in in_python)  # the common words reached many entries


def test_a_tie_at_the_cut_goes_to_the_lower_slot_on_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Fifteen entries alike but for their id tie on words; the others keep the
    # shared words rare enough to carry a match.
    same = [
        Entry(f"same-{i:02d}", "Apakah stok tas kulit masih ada?", "Stok selalu diperbarui.", "x")
        for i in range(15)
    ]
    others = [
        Entry(f"other-{i:02d}", f"Kapan promo {i} berlaku?", f"Promo {i} berlaku sebulan.", "y")
        for i in range(60)
    ]
    engine = Engine(same + others)
    for short in (10**9, 0):
        monkeypatch.setattr(engine_module, "SHORT_POSTING", short)
        cands, _ = engine.candidates("stok tas kulit")
        assert [c.slot for c in cands] == list(range(engine_module.LEXICAL_CANDIDATES))


def test_rankings_after_edits_equal_a_fresh_engine() -> None:
    """IDF and question masses are kept per snapshot: an edit must not leave old ones."""
    entries = _crowded_faq(40)
    texts = [*MESSAGES, "harga sepatu model 7 berapa?", "stok tas masih ada?"]
    engine = Engine(entries[:30])
    _ranked(engine, texts)  # fills the first snapshot's memos
    for entry in entries[30:]:
        engine.upsert(entry)
    engine.remove(entries[3].id)
    edited = Entry(entries[5].id, "Berapa harga tas kulit?", "Harga ada di halaman produk.", "x")
    engine.upsert(edited)
    kept = [e for e in entries if e.id != entries[3].id]
    kept = [edited if e.id == edited.id else e for e in kept]
    fresh = Engine(kept)
    assert _ranked(engine, texts) == _ranked(fresh, texts)
