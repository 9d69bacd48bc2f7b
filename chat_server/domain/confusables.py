"""Unicode confusable skeletons (UTS #39), folded for comparing names without case.

Two strings that look alike have the same skeleton: '𝐑𝐢𝐧𝐚', 'ʀɪɴᴀ', 'Ꭱina' and 'Rlna'
all read as 'rina'. The confusable pairs come from the Unicode consortium's
confusables.txt as the `confusable-homoglyphs` package ships it; that package keeps
each pair in both directions, so the prototypes are rebuilt here as one
representative per class of look-alike characters (an ASCII letter where the class
has one). A character whose prototype is several characters ('m' -> 'rn') maps to
them, as the standard's skeleton does.

UTS #39 keeps case ('I' and 'l' are confusable, 'i' and 'l' are not); names are
compared without it, so `fold` alternates skeleton and casefold until nothing
changes. Small capitals ('ʀ', 'ᴀ'), which the standard treats as letters of
their own, are read as the capitals they imitate.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from confusable_homoglyphs.confusables import confusables_data

_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z])$")
_ROUNDS = 4


def _rank(ch: str) -> tuple[int, str]:
    """Which member of a class of look-alikes stands for it: ASCII capitals first."""
    if ch.isascii():
        order = 0 if ch.isupper() else 1 if ch.isalpha() else 2 if ch.isdigit() else 3
        return order, ch
    return 4, ch


@cache
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    """(one character -> its class representative, one character -> a longer prototype)."""
    parent: dict[str, str] = {}

    def root(ch: str) -> str:
        while parent.get(ch, ch) != ch:
            parent[ch] = parent.get(parent[ch], parent[ch])
            ch = parent[ch]
        return ch

    longer: dict[str, str] = {}
    for key, pairs in confusables_data.items():
        if len(key) != 1:
            continue
        for pair in pairs:
            other = pair["c"]
            if len(other) == 1:
                a, b = root(key), root(other)
                if a != b:
                    keep, drop = (a, b) if _rank(a) <= _rank(b) else (b, a)
                    parent[drop] = keep
            elif len(pairs) == 1:
                # A source has exactly one prototype; only a source lists a longer one alone.
                longer[key] = other
    single = {ch: root(ch) for ch in parent}
    return {k: v for k, v in single.items() if k != v}, longer


def _small_capitals(text: str) -> str:
    out = []
    for ch in text:
        found = _SMALL_CAPITAL.match(unicodedata.name(ch, "")) if not ch.isascii() else None
        out.append(found.group(1) if found else ch)
    return "".join(out)


def skeleton(text: str) -> str:
    """The UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    single, longer = _tables()
    mapped = "".join(
        longer.get(ch) or single.get(ch, ch) for ch in unicodedata.normalize("NFD", text)
    )
    return unicodedata.normalize("NFD", mapped)


def fold(text: str) -> str:
    """A caseless skeleton: equal for strings that look alike whatever their case."""
    current = _small_capitals(unicodedata.normalize("NFKC", text))
    for _ in range(_ROUNDS):
        folded = _small_capitals(skeleton(current).casefold())
        if folded == current:
            break
        current = folded
    return current


# Built when the module loads (a few hundred ms), never inside a request or the writer.
_tables()
