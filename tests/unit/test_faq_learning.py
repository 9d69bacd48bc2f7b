"""What the FAQ may learn from shoppers' words, and how much (no I/O)."""

from __future__ import annotations

import pytest

from chat_server.domain.faq_learning import (
    MAX_LEARNT_PER_ENTRY,
    PER_ENTRY,
    PER_SHOPPER,
    LearningCounts,
    learnable_text,
    may_learn,
)


@pytest.mark.parametrize(
    "body",
    [
        "ongkir ke medan? https://tokoku.example/promo",
        "cek www.tokoku.example",
        "lihat tokoku.com/ongkir",
        "chat wa.me/6281234567890",
        "hubungi 0812-3456-7890",
        "telp +62 812 3456 7890",
        "kartu 4111 1111 1111 1111",
        "email budi@mail.example ya",
        "dm @budi_shop",
        "x" * 201,
        "   ",
    ],
)
def test_contact_data_and_long_messages_teach_nothing(body: str) -> None:
    assert learnable_text(body) is None


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("ongkir ke medan berapa", "ongkir ke medan berapa"),
        ("  biaya  kirim\nke medan  ", "biaya kirim ke medan"),
        ("bisa cod? harga 150rb", "bisa cod? harga 150rb"),
        ("ukuran 42 ada?", "ukuran 42 ada?"),
        ("kirim jam 10.30 bisa?", "kirim jam 10.30 bisa?"),
    ],
)
def test_ordinary_questions_are_kept_with_spaces_collapsed(body: str, kept: str) -> None:
    assert learnable_text(body) == kept


def test_learning_stops_at_each_limit() -> None:
    assert may_learn(LearningCounts(0, 0, 0))
    assert not may_learn(LearningCounts(PER_SHOPPER, 0, 0))
    assert not may_learn(LearningCounts(0, PER_ENTRY, 0))
    assert not may_learn(LearningCounts(0, 0, MAX_LEARNT_PER_ENTRY))
    assert may_learn(LearningCounts(PER_SHOPPER - 1, PER_ENTRY - 1, MAX_LEARNT_PER_ENTRY - 1))
