"""FAQ entry validation, imports and answer rendering, with no I/O."""

from __future__ import annotations

import pytest

from chat_server.domain.faq_rules import export_csv, parse_import
from chat_server.domain.markdown import answer_text, render_answer
from chat_server.errors import SapaError


def test_csv_round_trip_keeps_status_tags_and_phrasings() -> None:
    rows = [
        {
            "question": "Bisa COD?",
            "answer": "Bisa, untuk Jawa.",
            "category": "Bayar",
            "tags": ["cod", "bayar di tempat"],
            "lang": "id",
            "status": "draft",
            "phrasings": [{"text": "cod bs?"}, {"text": "bayar pas nyampe"}],
        }
    ]
    [entry] = parse_import(export_csv(rows).encode(), "csv")
    assert entry.status == "draft" and entry.tags == ("cod", "bayar di tempat")
    assert entry.phrasings == ("cod bs?", "bayar pas nyampe")


def test_a_bad_line_is_named_and_bad_encoding_too() -> None:
    with pytest.raises(SapaError, match="line 3"):
        parse_import(b"question,answer\nA?,a\nB?,\n", "csv")
    with pytest.raises(SapaError, match="line 2"):
        parse_import("question,answer\nC?,caf\xe9\n".encode("latin-1"), "csv")
    with pytest.raises(SapaError, match="entry 2"):
        parse_import(b'[{"question": "a", "answer": "b"}, {"question": "c"}]', "json")


def test_answers_render_a_safe_subset() -> None:
    html = render_answer("**Tebal** <script>x</script> [a](javascript:alert(1))")
    assert "<strong>Tebal</strong>" in html and "<script>" not in html
    assert 'href="javascript' not in html


def test_answer_text_is_plain_chat_text() -> None:
    text = answer_text(
        "Bisa **COD** ya.\n\n- satu\n- dua\n\nLihat [syarat](https://x.test/s) &amp; <b>"
    )
    assert text == "Bisa COD ya.\n\n- satu\n- dua\n\nLihat syarat (https://x.test/s) & <b>"
