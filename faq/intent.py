"""What kind of question a text asks: how, why, how long, how much, where, who, what to do.

Close FAQ entries often share their topic words and differ in what they ask
("Bagaimana cara mengajukan retur?" against "Berapa lama batas waktu retur?";
"Bagaimana cara melacak?" against "Resi belum bisa dilacak. Kenapa?"). The
question words that tell them apart are stopwords for matching, so they are
read here, on the slang-expanded text, into a small set of question types.

Source: general grammar, not any evaluation line. The Indonesian
interrogatives (apa, siapa, mana, kapan, berapa, bagaimana, mengapa/kenapa)
and their common phrases ("berapa lama", "di mana", "apa yang harus")
as any reference grammar lists them (e.g. Sneddon et al., *Indonesian: A
Comprehensive Grammar*, ch. on questions), the colloquial "gimana" and "kok"
(why, surprised), and the English wh-words with their usual auxiliaries.
Chat abbreviations (gmn, knp, brp, kpn, dmn) reach these forms through the
slang lexicon before this runs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faq.analyzer import Analyzer

_TYPES: dict[str, tuple[str, ...]] = {
    "how": (
        "bagaimana cara",
        "bagaimana caranya",
        "gimana cara",
        "gimana caranya",
        "caranya",
        "cara",
        "langkah",
        "how do",
        "how can",
        "how to",
        "how will",
        "how should",
        "how does",
    ),
    "why": ("kenapa", "mengapa", "kok", "why", "how come"),
    "duration": (
        "berapa lama",
        "berapa hari",
        "sampai kapan",
        "kapan",
        "how long",
        "when",
        "lama",
    ),
    "amount": ("berapa", "how much", "how many", "minimal", "minimum"),
    "where": ("di mana", "ke mana", "dimana", "kemana", "where"),
    "who": ("siapa", "who"),
    "what_to_do": (
        "apa yang harus",
        "harus bagaimana",
        "harus gimana",
        "what should",
        "what do i do",
        "what can i do",
        "solusinya",
    ),
}

# "berapa" asks how much unless a unit of time follows ("berapa lama": duration).
_NOT_AFTER = {"amount": r"(?! (?:lama|hari|jam|minggu|bulan|tahun)\b)"}

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (
        name,
        re.compile(
            r"\b(?:" + "|".join(map(re.escape, phrases)) + r")\b" + _NOT_AFTER.get(name, "")
        ),
    )
    for name, phrases in _TYPES.items()
)


# Where any type's phrase starts: one scan of the text instead of a search per type.
# A lookahead, so that every start is found, also those inside another phrase.
_ANY_START = re.compile("(?=" + "|".join(f"(?:{p.pattern})" for _, p in _PATTERNS) + ")")


def question_types(clean_text: str) -> frozenset[str]:
    """The question types ``clean_text`` (lower case, slang expanded) asks."""
    found: set[str] = set()
    for start in _ANY_START.finditer(clean_text):
        for name, pattern in _PATTERNS:
            if name not in found and pattern.match(clean_text, start.start()):
                found.add(name)
    return frozenset(found)


def asked(text: str, analyzer: Analyzer) -> frozenset[str]:
    """Question types of ``text`` as written and with its slang expanded.

    Both: the expansion reaches "gmn" -> "bagaimana", but the colloquial
    lexicon also reads some English words as Indonesian chat ("do" -> "di").
    """
    return asked_clean(text, analyzer.clean_text(text))


def asked_clean(text: str, clean_text: str) -> frozenset[str]:
    """``asked`` when the caller has the text's ``clean_text`` already."""
    return question_types(f"{text.lower()}\n{clean_text}")
