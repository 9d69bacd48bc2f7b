"""Readable text on a site's brand colour (WCAG 2 contrast), for pages that follow it."""

from __future__ import annotations

import re

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT = "#0f766e"
WHITE = "#ffffff"
INK = "#111827"
AA = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def brand(color: str | None) -> str:
    """The site's colour when it is a valid #rrggbb, else Sapa's."""
    return color.lower() if color and HEX.match(color) else DEFAULT


def ink_on(color: str) -> str:
    """White or near-black text, whichever reads better on `color`."""
    return WHITE if contrast(color, WHITE) >= contrast(color, INK) else INK


def darken_for_text(color: str, background: str = WHITE) -> str:
    """`color`, darkened in small steps until text in it reaches AA on `background`
    (links and headings in the brand colour on a white card)."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    current = color
    for _ in range(40):
        if contrast(current, background) >= AA:
            return current
        r, g, b = (int(v * 0.9) for v in (r, g, b))
        current = f"#{r:02x}{g:02x}{b:02x}"
    return INK
