"""Validation of what shops and agents write into the customer record. No I/O."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chat_server import errors
from chat_server.domain.csv_files import read_csv
from chat_server.ids import format_time

MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY = 40
MAX_ATTRIBUTE_VALUE = 500
MAX_TAGS = 30
MAX_TAG = 40
MAX_NOTE = 4000
MAX_ITEMS = 200
MAX_TOTAL = 1e13
ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,40}")
CURRENCY = re.compile(r"[A-Z]{3}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}")


CONSENT_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CONSENT_SOURCE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
MAX_CONSENT_KINDS = 10
# What a shop's server or the console may write into a customer (PUT and PATCH): anything
# else is refused, so a misspelt or unsupported field never vanishes without a word.
PROFILE_KEYS = frozenset({"name", "email", "phone", "locale", "attributes", "tags", "consent"})


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """A consent decision: given (granted) or withdrawn, where it was given, and when."""

    kind: str
    granted: bool
    source: str
    at: str


@dataclass(frozen=True, slots=True)
class ProfileFields:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)  # value None removes the key
    tags: tuple[str, ...] | None = None
    consents: tuple[ConsentChange, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderFields:
    order_id: str
    total: float
    currency: str
    items: list[dict[str, Any]]
    placed_at: str


def _opt_text(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise errors.bad_request(f"'{key}' must be a string of at most {limit} characters")
    return value.strip()


def external_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise errors.bad_request("'external_id' must be a string of 1 to 128 characters")
    return value.strip()


def attributes(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.bad_request("'attributes' must be an object")
    if len(value) > MAX_ATTRIBUTES:
        raise errors.bad_request(f"at most {MAX_ATTRIBUTES} attributes")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not ATTRIBUTE_KEY.fullmatch(key):
            raise errors.bad_request(
                f"attribute key '{key[:40]}' must be 1-40 of A-Z a-z 0-9 _ . -"
            )
        if item is not None and not isinstance(item, str | int | float | bool):
            raise errors.bad_request(f"attribute '{key}' must be a string, number or boolean")
        if isinstance(item, float) and not math.isfinite(item):
            raise errors.bad_request(f"attribute '{key}' must be finite")
        if isinstance(item, str) and len(item) > MAX_ATTRIBUTE_VALUE:
            raise errors.bad_request(f"attribute '{key}' is over {MAX_ATTRIBUTE_VALUE} characters")
        out[key] = item
    return out


def tags(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise errors.bad_request("'tags' must be a list of strings")
    cleaned = tuple(dict.fromkeys(t.strip().lower() for t in value if t.strip()))
    if len(cleaned) > MAX_TAGS or any(len(t) > MAX_TAG for t in cleaned):
        raise errors.bad_request(f"at most {MAX_TAGS} tags of {MAX_TAG} characters")
    return cleaned


def consents(value: Any, default_source: str, now: str) -> tuple[ConsentChange, ...]:
    """`{"marketing": true, "source"?: "checkout", "at"?: time}`: one or more kinds, each true
    (given) or false (withdrawn), with where and when (default: the caller, now)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise errors.bad_request("'consent' must be an object like {\"marketing\": true}")
    source = value.get("source", default_source)
    if not isinstance(source, str) or not CONSENT_SOURCE.match(source):
        raise errors.bad_request("'consent.source' must be 1-40 of A-Z a-z 0-9 _ . -")
    at = timestamp(value["at"], "consent.at") if value.get("at") is not None else now
    kinds = {k: v for k, v in value.items() if k not in ("source", "at")}
    if not kinds or len(kinds) > MAX_CONSENT_KINDS:
        raise errors.bad_request(f"'consent' names 1 to {MAX_CONSENT_KINDS} kinds, e.g. marketing")
    out = []
    for kind, granted in kinds.items():
        if not CONSENT_KIND.match(kind):
            raise errors.bad_request(f"consent kind '{kind[:40]}' must be a-z 0-9 _")
        if not isinstance(granted, bool):
            raise errors.bad_request(f"'consent.{kind}' must be true or false")
        out.append(ConsentChange(kind, granted, source, at))
    return tuple(out)


def strict_profile(data: Any, default_source: str, now: str) -> ProfileFields:
    """A profile from the REST API: unknown fields are refused (400), consent is accepted."""
    if not isinstance(data, dict):
        raise errors.bad_request("send a JSON object")
    unknown = sorted(str(k) for k in data if k not in PROFILE_KEYS)
    if unknown:
        raise errors.bad_request(
            f"unknown field '{unknown[0][:40]}'; known: " + ", ".join(sorted(PROFILE_KEYS))
        )
    fields = profile(data)
    changes = consents(data.get("consent"), default_source, now)
    return ProfileFields(
        fields.name,
        fields.email,
        fields.phone,
        fields.locale,
        fields.attributes,
        fields.tags,
        changes,
    )


def profile(data: Any) -> ProfileFields:
    if not isinstance(data, dict):
        raise errors.bad_request("send a JSON object")
    email = _opt_text(data, "email", 254)
    if email and not EMAIL.fullmatch(email):
        raise errors.bad_request("'email' is not an email address")
    locale = _opt_text(data, "locale", 10)
    return ProfileFields(
        name=_opt_text(data, "name", 120),
        email=email.lower() if email else email,
        phone=_opt_text(data, "phone", 40),
        locale=locale,
        attributes=attributes(data.get("attributes")),
        tags=tags(data.get("tags")),
    )


def timestamp(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise errors.bad_request(f"'{key}' must be an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.bad_request(f"'{key}' must be an RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment)


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.bad_request(f"'{key}' must be a number")
    number = float(value)
    if not math.isfinite(number) or number < 0 or number > MAX_TOTAL:
        raise errors.bad_request(f"'{key}' must be a finite number from 0")
    return number


def order(data: Any) -> OrderFields:
    if not isinstance(data, dict):
        raise errors.bad_request("send a JSON object")
    order_id = data.get("order_id")
    if (
        not isinstance(order_id, str | int)
        or isinstance(order_id, bool)
        or not str(order_id).strip()
    ):
        raise errors.bad_request("'order_id' is required")
    if len(str(order_id)) > 64:
        raise errors.bad_request("'order_id' is over 64 characters")
    currency = data.get("currency", "IDR")
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency.upper()):
        raise errors.bad_request("'currency' must be a 3-letter code such as IDR")
    items = data.get("items", [])
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise errors.bad_request(f"'items' must be a list of at most {MAX_ITEMS}")
    clean_items = []
    for item in items:
        if not isinstance(item, dict):
            raise errors.bad_request("each item must be an object")
        quantity = item.get("quantity", 1)
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 0 < quantity <= 100_000
        ):
            raise errors.bad_request("'quantity' must be a positive whole number")
        clean_items.append(
            {
                "sku": str(item.get("sku", ""))[:64],
                "name": str(item.get("name", ""))[:200],
                "quantity": quantity,
                "price": _number(item.get("price", 0), "price"),
            }
        )
    placed = data.get("placed_at")
    return OrderFields(
        str(order_id).strip(),
        _number(data.get("total"), "total"),
        currency.upper(),
        clean_items,
        timestamp(placed, "placed_at") if placed is not None else format_time(datetime.now(UTC)),
    )


# -- CSV imports ---------------------------------------------------------------


@dataclass(slots=True)
class CsvReport:
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, parsed)
    errors: list[str] = field(default_factory=list)  # "line N: why", for skipped lines


def customers_csv(raw: bytes) -> CsvReport:
    rows = read_csv(raw, ("external_id",))
    known = {"external_id", "name", "email", "phone", "tags", "locale"}
    report = CsvReport()
    for line, row in rows:
        try:
            attrs = {k: v for k, v in row.items() if k not in known and v != ""}
            fields = profile(
                {
                    "name": row.get("name") or None,
                    "email": row.get("email") or None,
                    "phone": row.get("phone") or None,
                    "locale": row.get("locale") or None,
                    "attributes": attrs,
                    "tags": [t for t in row.get("tags", "").split("|") if t] or None,
                }
            )
            report.rows.append(
                (line, {"external_id": external_id(row.get("external_id")), "profile": fields})
            )
        except errors.SapaError as exc:
            report.errors.append(f"line {line}: {exc.message}")
    return report


ORDER_COLUMNS = ("external_id", "total", "currency", "placed_at")
ITEM_COLUMNS = ("sku", "name", "quantity", "price")


def _csv_item(row: dict[str, str]) -> dict[str, Any] | None:
    """The item that a line's sku/name/quantity/price columns describe, if any."""
    if not any(row.get(c) for c in ITEM_COLUMNS):
        return None
    item: dict[str, Any] = {"sku": row.get("sku", ""), "name": row.get("name", "")}
    quantity = row.get("quantity") or "1"
    try:
        item["quantity"] = int(quantity)
    except ValueError:
        raise errors.bad_request("'quantity' must be a positive whole number") from None
    try:
        item["price"] = float(row.get("price") or "0")
    except ValueError:
        raise errors.bad_request("'price' must be a number") from None
    return item


def orders_csv(raw: bytes) -> CsvReport:
    """One order per `order_id`: its lines may each add an item (sku, name, quantity, price).

    The order's own fields (external_id, total, currency, placed_at) come from its first
    line; later lines may leave them empty but may not contradict them. `items` may also be
    a JSON list on a line. Without a `total`, the items' quantity × price is the total.
    """
    rows = read_csv(raw, ("external_id", "order_id"))
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    report = CsvReport()
    for line, row in rows:
        if not row.get("order_id"):
            report.errors.append(f"line {line}: 'order_id' is required")
            continue
        groups.setdefault(row["order_id"], []).append((line, row))
    for order_id, lines in groups.items():
        first_line, first = lines[0]
        try:
            head = {c: first.get(c, "") for c in ORDER_COLUMNS}
            items: list[Any] = []
            for _, row in lines:
                for column in ORDER_COLUMNS:
                    value = row.get(column, "")
                    if value and value != head[column]:
                        if head[column]:
                            raise errors.bad_request(
                                f"'{column}' differs from line {first_line} of order {order_id}"
                            )
                        head[column] = value
                if row.get("items"):
                    try:
                        listed = json.loads(row["items"])
                    except json.JSONDecodeError:
                        raise errors.bad_request("'items' is not valid JSON") from None
                    if not isinstance(listed, list):
                        raise errors.bad_request("'items' must be a JSON list")
                    items += listed
                item = _csv_item(row)
                if item is not None:
                    items.append(item)
            total: Any = head["total"]
            try:
                total = float(total) if total else None
            except ValueError:
                pass
            if total is None and items:
                total = sum(
                    float(i.get("quantity", 1)) * float(i.get("price", 0))
                    for i in items
                    if isinstance(i, dict)
                    and isinstance(i.get("quantity", 1), int | float)
                    and isinstance(i.get("price", 0), int | float)
                )
            fields = order(
                {
                    "order_id": order_id,
                    "total": total,
                    "currency": head["currency"] or "IDR",
                    "items": items,
                    "placed_at": head["placed_at"] or None,
                }
            )
            report.rows.append(
                (first_line, {"external_id": external_id(head["external_id"]), "order": fields})
            )
        except errors.SapaError as exc:
            where = ", ".join(str(line) for line, _ in lines)
            label = "line" if len(lines) == 1 else "lines"
            report.errors.append(f"{label} {where}: {exc.message}")
    return report
