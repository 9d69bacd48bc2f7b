"""Validation of FAQ entries and imports, with no I/O."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from chat_server import errors
from chat_server.domain import json_input
from chat_server.domain.csv_files import decode_utf8, read_csv

MAX_QUESTION = 300
MAX_ANSWER = 4000  # an answer must fit in one chat message
MAX_CATEGORY = 60
MAX_TAGS = 20
MAX_TAG = 40
MAX_PHRASINGS = 100
MAX_PHRASING = 500
MAX_IMPORT_ENTRIES = 5000
LANGS = ("id", "en")
STATUSES = ("draft", "published")
CSV_COLUMNS = ("question", "answer", "category", "tags", "lang", "status", "phrasings")


@dataclass(frozen=True, slots=True)
class FaqFields:
    """What an owner sets on an entry; None leaves a field unchanged on update."""

    question: str | None = None
    answer: str | None = None
    category: str | None = None
    tags: tuple[str, ...] | None = None
    lang: str | None = None
    status: str | None = None
    phrasings: tuple[str, ...] | None = None


def _text(data: dict[str, Any], key: str, limit: int, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise errors.bad_request(f"'{key}' is required")
        return None
    if not isinstance(value, str):
        raise errors.bad_request(f"'{key}' must be a string")
    value = value.strip()
    if required and not value:
        raise errors.bad_request(f"'{key}' must not be empty")
    if len(value) > limit:
        raise errors.bad_request(f"'{key}' is over {limit} characters")
    return value


def _tags(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [t for t in value.replace("|", ",").split(",")]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise errors.bad_request("'tags' must be a list of strings")
    tags = tuple(dict.fromkeys(t.strip() for t in value if t.strip()))
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
        raise errors.bad_request(f"at most {MAX_TAGS} tags of {MAX_TAG} characters")
    return tags


def _choice(data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise errors.bad_request(f"'{key}' must be one of {', '.join(allowed)}")
    return str(value)


def phrasing_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.bad_request("a phrasing must be a non-empty string")
    text = " ".join(value.split())
    if len(text) > MAX_PHRASING:
        raise errors.bad_request(f"a phrasing is at most {MAX_PHRASING} characters")
    return text


def entry_fields(data: Any, *, creating: bool) -> FaqFields:
    if not isinstance(data, dict):
        raise errors.bad_request("send a JSON object")
    phrasings = data.get("phrasings")
    if phrasings is not None:
        if not isinstance(phrasings, list) or len(phrasings) > MAX_PHRASINGS:
            raise errors.bad_request(f"'phrasings' must be a list of at most {MAX_PHRASINGS}")
        phrasings = tuple(dict.fromkeys(phrasing_text(p) for p in phrasings))
    return FaqFields(
        question=_text(data, "question", MAX_QUESTION, required=creating),
        answer=_text(data, "answer", MAX_ANSWER, required=creating),
        category=_text(data, "category", MAX_CATEGORY, required=False),
        tags=_tags(data.get("tags")),
        lang=_choice(data, "lang", LANGS),
        status=_choice(data, "status", STATUSES),
        phrasings=phrasings,
    )


def parse_import(raw: bytes, fmt: str) -> list[FaqFields]:
    """Every entry of an import file, or an error naming the first bad line."""
    entries = _parse_json(decode_utf8(raw)) if fmt == "json" else _parse_csv(raw)
    if not entries:
        raise errors.bad_request("the file has no entries")
    if len(entries) > MAX_IMPORT_ENTRIES:
        raise errors.bad_request(f"at most {MAX_IMPORT_ENTRIES} entries per import")
    return entries


def _parse_json(text: str) -> list[FaqFields]:
    try:
        data = json_input.decode(text)
    except json_input.BadJson as exc:
        raise errors.bad_request(f"line {exc.line or 1}: {exc.detail}") from None
    if not isinstance(data, list):
        raise errors.bad_request("line 1: a JSON import is an array of entries")
    out = []
    for number, item in enumerate(data, start=1):
        try:
            out.append(entry_fields(item, creating=True))
        except errors.SapaError as exc:
            raise errors.bad_request(f"entry {number}: {exc.message}") from None
    return out


def _parse_csv(raw: bytes) -> list[FaqFields]:
    out = []
    for line, row in read_csv(raw, ("question", "answer")):
        try:
            fields: dict[str, Any] = {k: v for k, v in row.items() if k in CSV_COLUMNS and v != ""}
            if "phrasings" in fields:
                fields["phrasings"] = [p for p in fields["phrasings"].split("|") if p.strip()]
            out.append(entry_fields(fields, creating=True))
        except errors.SapaError as exc:
            raise errors.bad_request(f"line {line}: {exc.message}") from None
    return out


def export_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row["question"],
                row["answer"],
                row["category"],
                "|".join(row["tags"]),
                row["lang"],
                row["status"],
                "|".join(p["text"] for p in row["phrasings"]),
            ]
        )
    return buffer.getvalue()
