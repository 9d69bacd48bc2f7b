"""Question types: what a message asks, read from question words the matcher drops."""

from __future__ import annotations

import pytest

from faq import Engine, Entry, Lexicon
from faq.intent import asked


def _types(text: str) -> frozenset[str]:
    return asked(text, Lexicon.default().analyzer)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bagaimana cara melacak pesanan?", {"how"}),
        ("gmn caranya kak", {"how"}),  # chat abbreviation, through the slang lexicon
        ("knp resi gk bisa dilacak", {"why"}),
        ("kok belum masuk sih", {"why"}),
        ("Berapa lama proses refund?", {"duration"}),  # not "how much"
        ("brp hari nyampe", {"duration"}),
        ("ongkirnya brp", {"amount"}),
        ("refundnya masuk ke mana?", {"where"}),
        ("Siapa yang menanggung ongkir retur?", {"who"}),
        ("How long does delivery take?", {"duration"}),
        ("How do I reset my password?", {"how"}),
        ("Where does my refund go?", {"where"}),
        ("paketnya rusak, apa yang harus saya lakukan?", {"what_to_do"}),
    ],
)
def test_question_words_give_the_question_type(text: str, expected: set[str]) -> None:
    assert _types(text) == expected


@pytest.mark.parametrize("text", ["halo kak", "terima kasih", "barangnya bagus", ""])
def test_no_question_word_no_type(text: str) -> None:
    assert _types(text) == frozenset()


def test_entries_sharing_their_topic_are_told_apart_by_what_they_ask() -> None:
    # Three entries about returns; each message shares only "retur" with all of them.
    engine = Engine(
        [
            Entry(
                "how",
                "Bagaimana cara mengajukan retur?",
                "Buka menu Pesanan Saya, pilih Ajukan Retur, isi alasan dan unggah foto barang.",
            ),
            Entry(
                "when",
                "Berapa lama batas waktu retur?",
                "Retur dapat diajukan paling lambat 7 hari setelah paket diterima.",
            ),
            Entry(
                "why",
                "Kenapa retur saya ditolak?",
                "Retur ditolak bila label sudah dilepas atau barang sudah dipakai.",
            ),
        ]
    )
    assert engine.suggest("retur itu gimana caranya kak?")[0].faq_id == "how"
    assert engine.suggest("retur bisa sampai kapan kak?")[0].faq_id == "when"
    assert engine.suggest("knp retur aku ditolak?")[0].faq_id == "why"
    assert engine.rank("retur bisa sampai kapan kak?")[0].features["asks_same"] == 1.0
