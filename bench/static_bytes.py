"""Bytes a shop page and the console pay for Sapa's static files: raw, gzip and brotli.

    python bench/static_bytes.py

Reads the files through the same manifest the server uses (no server needed): the widget
loader every shop page view loads, the widget app loaded when a shopper reaches for chat,
and the console's scripts and styles.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import brotli

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat_server.web.static_assets import BROTLI_QUALITY, Asset, StaticAssets


def sizes(body: bytes) -> tuple[int, int, int]:
    return (
        len(body),
        len(gzip.compress(body, compresslevel=9, mtime=0)),
        len(brotli.compress(body, quality=BROTLI_QUALITY)),
    )


def row(label: str, assets: list[Asset]) -> None:
    raw = gz = br = 0
    for asset in assets:
        r, g, b = sizes(asset.body)
        raw, gz, br = raw + r, gz + g, br + b
    print(f"{label:<28} {len(assets):>5} {raw:>10,} {gz:>10,} {br:>10,}")


def main() -> None:
    assets = StaticAssets.load()
    print(f"{'what':<28} {'files':>5} {'raw B':>10} {'gzip B':>10} {'brotli B':>10}")
    row("widget loader (/widget.js)", [assets.loader])
    row("widget app", [assets.widget.assets["app.js"]])
    row("console (all files)", list(assets.console.assets.values()))


if __name__ == "__main__":
    main()
