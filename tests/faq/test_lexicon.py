"""The lexicon is data: loaded from files, extended by a site owner, never mutated."""

from __future__ import annotations

from pathlib import Path

import pytest

from faq import Lexicon, normalize
from faq.lexicon import DATA_DIR


def test_default_lexicon_loads_all_data_files() -> None:
    lexicon = Lexicon.default()
    assert lexicon.slang["gmn"] == "bagaimana"
    assert "kak" in lexicon.stopwords and "the" in lexicon.stopwords
    assert any("refund" in group for group in lexicon.synonyms)
    assert "kalimantan" in lexicon.broader
    assert lexicon.stems["pakaian"] == "pakaian"
    assert "yesterday" in lexicon.words
    assert {p.name for p in DATA_DIR.iterdir()} >= {
        "slang.tsv",
        "synonyms.txt",
        "stopwords_id.txt",
        "stopwords_en.txt",
        "stopwords_chat.txt",
        "stems.tsv",
        "words_en.txt",
    }


def test_extended_adds_without_changing_the_original() -> None:
    base = Lexicon.default()
    ext = base.extended(
        slang={"brgku": "barang saya"},
        synonyms={"kaos kaki": ["socks", "stocking"]},
        stopwords=["toko contoh"],
        broader={"sumatra": ["sibolga"]},
    )
    assert "brgku" in ext.slang and "brgku" not in base.slang
    assert set(normalize("socks", ext)) & set(normalize("kaos kaki", ext))
    assert not set(normalize("socks", base)) & set(normalize("kaos kaki", base))
    assert "sumatra" in normalize("kirim ke sibolga", ext)
    assert "sumatra" not in normalize("kirim ke sibolga", base)


def test_not_stopwords_makes_a_word_meaningful_again() -> None:
    bakery = Lexicon.default().extended(not_stopwords=["pagi"])
    assert normalize("roti pagi", bakery) == ["roti", "pagi"]
    assert normalize("roti pagi") == ["roti"]


def test_synonym_groups_as_a_list() -> None:
    ext = Lexicon.default().extended(synonyms=[("jaket", "jacket", "outerwear")])
    assert "jaket" in normalize("outerwear", ext)
    assert "jaket" not in normalize("outerwear")


def test_from_files_reads_site_owner_files(tmp_path: Path) -> None:
    (tmp_path / "slang_shop.tsv").write_text("# shop slang\nbrgku\tbarang saya\n", encoding="utf-8")
    (tmp_path / "synonyms_shop.txt").write_text(
        "kaos kaki | socks\nsumatra > sibolga\n", encoding="utf-8"
    )
    (tmp_path / "stopwords_shop.txt").write_text("toko contoh\n", encoding="utf-8")
    lexicon = Lexicon.from_files(*sorted(tmp_path.iterdir()), base=Lexicon.default())
    assert lexicon.slang["brgku"] == "barang saya"
    assert lexicon.slang["gmn"] == "bagaimana"  # the base is kept
    assert normalize("socks", lexicon) == ["kaos_kaki"]
    assert "kaos_kaki" in normalize("kaos kaki", lexicon)
    assert "sumatra" in normalize("sibolga", lexicon)
    assert normalize("toko contoh", lexicon) == []


def test_from_files_rejects_a_bad_slang_line(tmp_path: Path) -> None:
    bad = tmp_path / "slang_bad.tsv"
    bad.write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="TAB"):
        Lexicon.from_files(bad)


def test_from_files_rejects_unknown_file_kinds(tmp_path: Path) -> None:
    odd = tmp_path / "misc.txt"
    odd.write_text("x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown lexicon file"):
        Lexicon.from_files(odd)
