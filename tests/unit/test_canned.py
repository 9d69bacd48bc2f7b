"""Canned responses: variables filled in, everything else left exactly as written."""

from __future__ import annotations

import pytest

from chat_server.domain import canned
from chat_server.errors import SapaError

VALUES = {"customer.name": "Budi", "agent.name": "Sari", "site.name": "Toko A"}


def test_known_variables_are_filled_in_with_or_without_spaces() -> None:
    text = "Halo {{customer.name}}, saya {{ agent.name }} dari {{site.name}}."
    assert canned.render(text, VALUES) == "Halo Budi, saya Sari dari Toko A."


@pytest.mark.parametrize(
    "literal",
    [
        "{{customer.email}}",
        "{{ customer.__class__ }}",
        "{{7*7}}",
        "{% for x in y %}",
        "${customer.name}",
        "{customer.name}",
        "{{customer.name",
        "<script>alert(1)</script>",
        "{{ site.name | upper }}",
    ],
)
def test_anything_else_stays_literal(literal: str) -> None:
    assert canned.render(literal, VALUES) == literal


def test_a_filled_in_value_is_never_expanded_again() -> None:
    tricky = {**VALUES, "customer.name": "{{agent.name}}"}
    assert canned.render("Hi {{customer.name}}", tricky) == "Hi {{agent.name}}"


def test_a_variable_without_a_value_stays_literal() -> None:
    assert canned.render("Hi {{customer.name}}", {}) == "Hi {{customer.name}}"


def test_shortcuts_and_bodies_are_checked() -> None:
    assert canned.shortcut(" /Ongkir ") == "ongkir"
    assert canned.shortcut("cara_bayar-2") == "cara_bayar-2"
    for bad in ("", "/", "dua kata", "x" * 33, 5, None, "-awal"):
        with pytest.raises(SapaError):
            canned.shortcut(bad)
    for bad_body in ("", "   ", "x" * 4001, None, 3):
        with pytest.raises(SapaError):
            canned.body(bad_body)
    with pytest.raises(SapaError):
        canned.scope("team")
