"""Reading uploaded text files: UTF-8 or a clear error naming the line."""

from __future__ import annotations

import csv
import io

from chat_server import errors


def decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise errors.bad_request(f"line {line}: not UTF-8 text") from None


def read_csv(raw: bytes, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs with lower-case column names; a fatal problem stops everything."""
    reader = csv.DictReader(io.StringIO(decode_utf8(raw), newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise errors.bad_request(f"line 1: missing column(s) {', '.join(missing)}")
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if None in row:
                raise errors.bad_request(f"line {reader.line_num}: more fields than columns")
            if any((v or "").strip() for v in row.values()):
                rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    except csv.Error as exc:
        raise errors.bad_request(f"line {reader.line_num}: {exc}") from None
    return rows
