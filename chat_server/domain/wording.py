"""Counted words in the languages Sapa speaks: "1 question" / "2 questions" in English;
Indonesian nouns do not change with the count ("1 pertanyaan", "2 pertanyaan")."""

from __future__ import annotations


def plural_category(lang: str, n: int) -> str:
    """The CLDR plural category of `n` (the two languages here only use one/other)."""
    if lang == "en" and n == 1:
        return "one"
    return "other"


def counted(lang: str, n: int, forms: dict[str, str]) -> str:
    """`forms` maps a plural category to a text with `{n}`; "other" is required."""
    text = forms.get(plural_category(lang, n), forms["other"])
    return text.replace("{n}", str(n))
