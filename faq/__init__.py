"""Sapa FAQ suggestion engine: Indonesian/English chat text in, ranked FAQ answers out.

A standalone library with no knowledge of the chat server::

    from faq import Engine, Entry
    engine = Engine([Entry("faq-1", "Berapa ongkir ke Bandung?", "...")])
    engine.answer("ongkir ke bdg brp kak?")
"""

from faq.analyzer import normalize
from faq.engine import Engine
from faq.lexicon import Lexicon
from faq.models import Entry, Suggestion

__all__ = ["Engine", "Entry", "Lexicon", "Suggestion", "normalize"]
