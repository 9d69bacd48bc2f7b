"""Normalisation: slang, stretched letters, stemming, stopwords, concepts."""

from __future__ import annotations

import time

import pytest

from faq import Lexicon, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("brp ongkir ke bdg?", ["ongkir", "bandung"]),  # brp -> berapa (a stopword)
        ("udh tf blm dikonfirmasi", ["sudah", "transfer", "belum", "konfirmasi"]),
        ("gk bs login", ["tidak", "bisa", "login"]),
        ("sy mw nnya2 resi", ["resi"]),
    ],
)
def test_slang_and_abbreviations_expand(text: str, expected: list[str]) -> None:
    terms = normalize(text)
    for term in expected:
        assert term in terms
    assert "brp" not in terms and "sy" not in terms


def test_stretched_letters_collapse_to_the_real_word() -> None:
    assert normalize("mahalll bangettt") == normalize("mahal banget")
    assert normalize("kakkkk ongkirrr") == ["ongkir"]


def test_indonesian_affixes_are_stemmed() -> None:
    assert normalize("pengiriman") == normalize("dikirim") == normalize("kirim")
    assert normalize("membayar") == normalize("pembayaran")


def test_colloquial_verb_forms_are_stemmed() -> None:
    # Jakarta "-in" and nasal prefixes are not formal affixes Sastrawi knows.
    assert normalize("batalin") == normalize("batalkan")
    assert normalize("ngirim") == normalize("kirim")


def test_english_is_stemmed() -> None:
    assert normalize("payments") == normalize("payment") == normalize("paid")
    assert normalize("shipping") == normalize("ship")


def test_english_words_are_not_taken_apart_by_indonesian_affix_rules() -> None:
    # Sastrawi alone reads "login" as log+in and "lines" as le+s.
    assert normalize("login") == ["login"]
    assert normalize("lines") == normalize("line")
    assert normalize("again") != normalize("aga")


def test_published_english_words_are_known_as_written() -> None:
    from faq.resources import english_words

    words = english_words()
    # A frequency list holds inflected forms itself: no stemming needed to know them.
    assert {"yesterday", "delivered", "shipping", "cheaper"} <= words
    assert Lexicon.default().words >= words


def test_stemmer_exceptions_keep_meanings_apart() -> None:
    # Sastrawi maps "pakaian" (clothes) to "pakai" (use); stems.tsv keeps them apart.
    assert normalize("pakaian") != normalize("pakai")
    assert normalize("memesan") == normalize("pesanan")


@pytest.mark.parametrize(
    "text",
    ["halo kak", "makasih min", "pagi min mau nanya", "Hello! Good afternoon :)", "thanks a lot"],
)
def test_greetings_and_fillers_are_stopwords(text: str) -> None:
    assert normalize(text) == []


def test_negation_is_kept() -> None:
    # "sudah bayar" vs "belum bayar" tell close FAQ entries apart.
    assert "belum" in normalize("belum bayar")
    assert "tidak" in normalize("voucher gak bisa dipakai")


def test_bilingual_concepts_meet() -> None:
    assert set(normalize("refund")) & set(normalize("pengembalian dana"))
    assert "garansi" in normalize("warranty")
    assert "ongkir" in normalize("shipping cost")
    assert "ukur" in normalize("size") and "ukur" in normalize("ukuran")


def test_phrase_matches_across_stopwords_and_spelling() -> None:
    assert "cod" in normalize("bisa bayar di tempat?")
    assert "cod" in normalize("bs byr ditempat gk")
    assert "cod" in normalize("cash on delivery")


def test_broader_terms_are_added_not_substituted() -> None:
    terms = normalize("kirim ke Pontianak")
    assert "pontianak" in terms and "kalimantan" in terms


def test_hyphens_reduplication_and_clitics() -> None:
    assert normalize("kata-kata") == normalize("kata")
    assert normalize("refund-nya") == normalize("refund")
    assert normalize("pre-order") == normalize("preorder")


def test_empty_and_punctuation_only() -> None:
    assert normalize("") == []
    assert normalize("   ?!...  :)") == []


def test_huge_input_is_truncated_and_fast() -> None:
    text = "ongkir ke bandung berapa kak " * 5000
    start = time.perf_counter()
    terms = normalize(text)
    assert time.perf_counter() - start < 1.0
    assert "ongkir" in terms


def test_custom_lexicon_is_used() -> None:
    lexicon = Lexicon.default().extended(
        slang={"ongkirr": "ongkos kirim"}, stopwords=["toko contoh"]
    )
    assert normalize("beli di toko contoh", lexicon) == normalize("beli", lexicon)
    assert "contoh" in normalize("beli di toko contoh")


def test_a_word_seen_before_is_still_typo_repaired_against_each_index() -> None:
    """What the analyzer keeps per word (its stem, whether it is a real word) leaves the typo
    repair, which depends on the index asking, to be done every time."""
    analyzer = Lexicon().analyzer
    asked: list[str] = []

    def fix(word: str, stem: str) -> str | None:
        asked.append(word)
        return "garansi"

    plain = [term for term, _ in analyzer.weighted_terms("grnsi resmi")]
    assert "grnsi" in plain  # no index: nothing to repair against
    first = analyzer.weighted_terms("grnsi resmi", fix)
    again = analyzer.weighted_terms("grnsi resmi", fix)
    assert first == again and "grnsi" not in [term for term, _ in again]
    assert asked == ["grnsi", "grnsi"]
    assert analyzer.weighted_terms("grnsi resmi") == analyzer.weighted_terms("grnsi resmi")
