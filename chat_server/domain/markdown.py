"""FAQ answers: a small, safe subset of Markdown rendered to HTML.

markdown-it-py with raw HTML off escapes every tag an owner types, and its link
validation refuses javascript:, vbscript: and data: URLs. Images and headings
are switched off: an answer is a few sentences, not a page.
"""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).disable(
    ["image", "heading", "lheading", "code", "fence", "hr", "html_block", "html_inline"]
)


@lru_cache(maxsize=4096)
def render_answer(text: str) -> str:
    html = _md.render(text)
    # Links leave the widget or the help center; they must not get a handle on the opener.
    return html.replace("<a href=", '<a rel="noopener nofollow" target="_blank" href=')
