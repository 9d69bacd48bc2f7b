"""FAQ answers: a small, safe subset of Markdown rendered to HTML.

markdown-it-py with raw HTML off escapes every tag an owner types, and its link
validation refuses javascript:, vbscript: and data: URLs. Images and headings
are switched off: an answer is a few sentences, not a page.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import unescape

from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).disable(
    ["image", "heading", "lheading", "code", "fence", "hr", "html_block", "html_inline"]
)


@lru_cache(maxsize=4096)
def render_answer(text: str) -> str:
    html = _md.render(text)
    # Links leave the widget or the help center; they must not get a handle on the opener.
    return html.replace("<a href=", '<a rel="noopener nofollow" target="_blank" href=')


_LINK = re.compile(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', re.S)
_TAG = re.compile(r"<[^>]+>")


@lru_cache(maxsize=4096)
def answer_text(text: str) -> str:
    """The answer as plain chat text: list items as "- ", links as "text (url)"."""
    html = render_answer(text)
    html = _LINK.sub(
        lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) != m.group(1) else m.group(1), html
    )
    html = html.replace("<li>", "- ").replace("<br />", "")
    plain = unescape(_TAG.sub("", html))
    return re.sub(r"\n{3,}", "\n\n", plain).strip()
