"""Ranking, confidence, edits, robustness and thread safety on hand-made entries."""

from __future__ import annotations

import threading
import time

import pytest

from faq import Engine, Entry, Lexicon, Suggestion

from .conftest import make_entries


def top(engine: Engine, text: str) -> str | None:
    found = engine.suggest(text)
    return found[0].faq_id if found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ongkir ke medan brp kak?", "ongkir"),  # slang
        ("gmn cara balikin barang yg udh dtg?", "retur"),  # colloquial verb + slang
        ("cod bs gk min", "cod"),
        ("bisa bayar ditempat?", "cod"),
        ("garansi resmi gk kak hp nya?", "garansi"),
        ("How do I reset my password?", "password"),  # exact
        ("forgot my pasword, how to reset it", "password"),  # typo
        ("ongkos kirm ke bandung berapa", "ongkir"),  # typo
        ("grnsi resmi", "garansi"),  # typo
    ],
)
def test_finds_the_right_entry(engine: Engine, text: str, expected: str) -> None:
    assert top(engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is there a warranty on electronics?", "garansi"),  # en -> id entry
        ("how much is the shipping cost?", "ongkir"),
        ("how long does a refund take?", "refund-time"),
        ("can I pay cash on delivery?", "cod"),
        ("bisa kirim ke luar negeri gak? ke Malaysia", "intl"),  # id -> en entry
        ("lupa kata sandi gimana resetnya", "password"),
        ("cara memilih ukuran yang pas", "size"),
    ],
)
def test_cross_language(engine: Engine, text: str, expected: str) -> None:
    assert top(engine, text) == expected


def test_stemming_matches_affixed_forms(engine: Engine) -> None:
    assert top(engine, "pengembalian barang bagaimana prosedurnya") == "retur"
    assert top(engine, "shipped internationally?") == "intl"


@pytest.mark.parametrize(
    "text",
    ["halo kak", "makasih min", "pagi min mau nanya", "Hello! Good afternoon :)", "ok sip"],
)
def test_greetings_get_no_answer(engine: Engine, text: str) -> None:
    assert engine.answer(text) == []
    assert engine.suggest(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "kak sepatu ini warnanya bagus banget, aku suka",
        "apakah toko ini buka lowongan kerja untuk staf gudang?",
    ],
)
def test_off_topic_messages_stay_below_threshold(engine: Engine, text: str) -> None:
    assert engine.answer(text) == []


def test_confident_answer_is_above_threshold(engine: Engine) -> None:
    answers = engine.answer("ongkos kirim dihitung bagaimana?")
    assert answers and answers[0].faq_id == "ongkir"
    assert answers[0].score >= engine.threshold


def test_suggestions_are_sorted_scored_and_explained(engine: Engine) -> None:
    found = engine.suggest("refund barang retur berapa lama", limit=3)
    assert 1 <= len(found) <= 3
    assert all(isinstance(s, Suggestion) and 0.0 <= s.score <= 1.0 for s in found)
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert all(s.matched_terms for s in found)
    assert "refund" in found[0].matched_terms or "retur" in found[0].matched_terms


def test_limit_is_respected(engine: Engine) -> None:
    assert len(engine.suggest("bayar kirim barang", limit=1)) == 1
    assert engine.suggest("bayar kirim barang", limit=0) == []


def test_answer_is_suggest_filtered_by_threshold(engine: Engine) -> None:
    text = "garansi resmi berapa lama?"
    expected = [s for s in engine.suggest(text) if s.score >= engine.threshold]
    assert engine.answer(text) == expected
    assert 0.0 < engine.threshold < 1.0


def test_results_are_deterministic(engine: Engine) -> None:
    assert engine.suggest("kirim barang ke luar negeri") == engine.suggest(
        "kirim barang ke luar negeri"
    )


def test_upsert_adds_and_replaces() -> None:
    engine = Engine(make_entries())
    assert len(engine) == 8
    assert top(engine, "ada bungkus kado?") != "gift"
    engine.upsert(Entry("gift", "Apakah ada layanan bungkus kado?", "Ada, Rp10.000 per paket."))
    assert len(engine) == 9 and "gift" in engine
    assert top(engine, "ada bungkus kado?") == "gift"
    assert top(engine, "do you offer gift wrapping?") == "gift"

    engine.upsert(Entry("gift", "Apakah bisa kirim ke alamat kantor?", "Bisa."))
    assert len(engine) == 9
    assert top(engine, "ada bungkus kado?") != "gift"
    assert top(engine, "kirim ke alamat kantor") == "gift"


def test_remove_forgets_an_entry() -> None:
    engine = Engine(make_entries())
    assert top(engine, "bisa cod?") == "cod"
    engine.remove("cod")
    engine.remove("does-not-exist")
    assert len(engine) == 7 and "cod" not in engine
    assert all(s.faq_id != "cod" for s in engine.suggest("bisa cod?"))


def test_removed_slots_are_reused() -> None:
    engine = Engine(make_entries())
    for i in range(50):
        engine.upsert(Entry(f"tmp-{i}", f"Pertanyaan sementara {i} tentang voucher", "Jawaban."))
        engine.remove(f"tmp-{i}")
    assert len(engine) == 8
    assert engine._state.snapshot.size <= 9


def test_phrasings_and_tags_are_searched() -> None:
    engine = Engine(
        [
            Entry(
                "a",
                "Jam buka toko?",
                "Setiap hari 10.00-21.00.",
                phrasings=("kapan tokonya tutup",),
            ),
            Entry("b", "Apakah ada parkir?", "Ada.", tags=("parkiran motor",)),
        ]
    )
    assert top(engine, "tokonya tutup jam berapa") == "a"
    assert top(engine, "parkiran motor dimana") == "b"


def test_empty_engine_and_empty_input() -> None:
    assert Engine().suggest("ongkir berapa") == []
    engine = Engine(make_entries())
    assert engine.suggest("") == []
    assert engine.answer("   ") == []
    assert engine.suggest("?!?! :) 123") == []


def test_huge_input_is_fast_and_safe(engine: Engine) -> None:
    text = ("kak ongkos kirim ke bandung berapa ya " * 2000) + "x" * 100_000
    start = time.perf_counter()
    found = engine.suggest(text)
    assert time.perf_counter() - start < 0.5
    assert found and found[0].faq_id == "ongkir"


def test_custom_lexicon_changes_matching() -> None:
    entries = [Entry("socks", "Apakah ada kaos kaki anak?", "Ada, ukuran 1-10 tahun.")]
    plain = Engine(entries)
    assert plain.suggest("do you sell socks") == []
    lexicon = Lexicon.default().extended(synonyms={"kaos kaki": ["socks"]})
    assert top(Engine(entries, lexicon), "do you sell socks") == "socks"


def test_concurrent_reads_during_writes() -> None:
    engine = Engine(make_entries())
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                found = engine.suggest("ongkir ke bandung brp")
                assert found and found[0].faq_id == "ongkir"
        except BaseException as exc:  # any failure is reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(100):
        engine.upsert(Entry(f"extra-{i}", f"Pertanyaan tambahan {i} tentang poin", "Jawaban."))
        if i % 2:
            engine.remove(f"extra-{i}")
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert len(engine) == 8 + 50


@pytest.mark.parametrize("text", ["barangnya bagus, makasih ya", "ok kak siap ditunggu"])
def test_a_lone_common_word_is_not_a_confident_answer(text: str) -> None:
    engine = Engine(make_entries())
    assert engine.answer(text) == []


def test_scores_never_increase_down_the_ranking(engine: Engine) -> None:
    for text in ("ongkir?", "refund", "bayar kirim barang garansi", "size ukuran"):
        scores = [s.score for s in engine.suggest(text, limit=5)]
        assert scores == sorted(scores, reverse=True)
