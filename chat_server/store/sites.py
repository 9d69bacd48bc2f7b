"""Sites: each shop served by this installation."""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chat_server.domain.models import Site
from chat_server.ids import hash_token, new_id, new_secret, now_iso
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx


@dataclass(frozen=True, slots=True)
class SiteCredentials:
    site_id: str
    site_key: str
    identity_secret: str
    api_token: str


_SITE_COLUMNS = (
    "id",
    "name",
    "site_key",
    "identity_secret",
    "domains",
    "greeting",
    "locale",
    "color",
    "prechat",
    "business_hours",
    "away_message",
    "email_settings",
    "max_upload_bytes",
)
# Each site as last read, by the very values it was built from: every widget session and
# hello reads its site, whose five JSON columns cost more to decode than the read itself,
# and an idle widget's session holds its Site for hours (one object per site, not per
# visitor). Another value in any column is another key, so a change is never missed.
_DECODED: dict[tuple[Any, ...], Site] = {}
# Those columns alone, in that order: the widget's session call and hello read the key
# straight off the row (a look-up by name per column cost more than the rest of the read).
_SITE_SELECT = f"SELECT {', '.join(_SITE_COLUMNS)} FROM sites"


def row_to_site(row: Row) -> Site:
    return _site_of(tuple(row[c] for c in _SITE_COLUMNS))


def _site_of(key: tuple[Any, ...]) -> Site:
    """The Site of `_SITE_COLUMNS`' values, decoded once per distinct values."""
    known = _DECODED.get(key)
    if known is not None:
        return known
    (
        site_id,
        name,
        site_key,
        identity_secret,
        domains,
        greeting,
        locale,
        color,
        prechat,
        business_hours,
        away_message,
        email_settings,
        max_upload_bytes,
    ) = key
    site = Site(
        id=site_id,
        name=name,
        site_key=site_key,
        identity_secret=identity_secret,
        domains=tuple(json.loads(domains)),
        greeting=greeting,
        locale=locale,
        color=color,
        prechat=json.loads(prechat),
        business_hours=json.loads(business_hours),
        away_message=json.loads(away_message),
        email_settings=json.loads(email_settings),
        max_upload_bytes=max_upload_bytes,
    )
    if len(_DECODED) >= 4096:  # many sites, or one changed often: start again
        _DECODED.clear()
    _DECODED[key] = site
    return site


def insert_site(
    conn: Tx, name: str, domains: list[str], greeting: str = "", locale: str = "id"
) -> SiteCredentials:
    creds = SiteCredentials(new_id("site"), "pk_" + new_secret(18), new_secret(32), new_secret(32))
    conn.execute(
        "INSERT INTO sites (id, name, site_key, identity_secret, api_token_hash, domains,"
        " greeting, locale, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            creds.site_id,
            name,
            creds.site_key,
            creds.identity_secret,
            hash_token(creds.api_token),
            json.dumps([d.lower() for d in domains]),
            greeting,
            locale,
            now_iso(),
        ),
    )
    return creds


def add_domain(conn: Tx, site_id: str, domain: str) -> None:
    row = conn.execute("SELECT domains FROM sites WHERE id = ?", (site_id,)).fetchone()
    domains = json.loads(row["domains"])
    if domain.lower() not in domains:
        domains.append(domain.lower())
        conn.execute("UPDATE sites SET domains = ? WHERE id = ?", (json.dumps(domains), site_id))
        _changed()


def load_site(conn: Tx, site_id: str) -> Site | None:
    row = conn.execute(_SITE_SELECT + " WHERE id = ?", (site_id,)).fetchone()
    return _site_of(tuple(row)) if row else None


async def get_site(db: Database, site_id: str) -> Site | None:
    row = await db.fetch_one("SELECT * FROM sites WHERE id = ?", (site_id,))
    return row_to_site(row) if row else None


# A widget's session call names its site by key, once per new visitor. Read on the event
# loop after a commit by another connection, that read finds SQLite's page cache emptied:
# ~50 µs, once the dearest read of a connect burst (bench/README.md, "The site by its key"). So a site found by its key is kept `SITE_KEY_TTL` seconds,
# per database. A change made through this module in this process is seen at once (`_epoch`
# moves); one made by another process (a CLI command, another server) within SITE_KEY_TTL.
# The epoch moves when the change is written, before its COMMIT: a read in between keeps
# the old row, again for SITE_KEY_TTL at most.
SITE_KEY_TTL = 1.0
# A site by key or id: (when it was read, the epoch then, the site).
_Kept = dict[str, tuple[float, int, Site]]
_by_key: weakref.WeakKeyDictionary[Database, _Kept] = weakref.WeakKeyDictionary()
# The same by id, for a widget's hello (`site_loader`): one entry per site a token named.
_by_id: weakref.WeakKeyDictionary[Database, _Kept] = weakref.WeakKeyDictionary()
_epoch = 0


def _changed() -> None:
    """A site's row changed (in a write of this process): no site kept by key stands."""
    global _epoch
    _epoch += 1


def _still(kept: _Kept, key: str, now: float) -> Site | None:
    """The site kept under `key`, unless it is older than SITE_KEY_TTL or a change since."""
    found = kept.get(key)
    if found is not None and found[1] == _epoch and now - found[0] < SITE_KEY_TTL:
        return found[2]
    return None


async def get_site_by_key(db: Database, site_key: str) -> Site | None:
    kept, now, epoch = _by_key.setdefault(db, {}), time.monotonic(), _epoch
    site = _still(kept, site_key, now)
    if site is not None:
        return site
    site = await db.read_now(lambda conn: _site_by_key(conn, site_key))
    if site is not None:  # an unknown key is never kept: random keys would fill it
        kept[site_key] = (now, epoch, site)
    return site


def site_loader(db: Database) -> Callable[[Tx, str], Site | None]:
    """`load_site` for reads on `db`, answered from a site read there within SITE_KEY_TTL.

    A hello read its site right after the token look-up, often in a page cache a commit
    had just emptied; it is held to the same rule as the site by its key.
    """
    kept = _by_id.setdefault(db, {})

    def load(conn: Tx, site_id: str) -> Site | None:
        now, epoch = time.monotonic(), _epoch
        site = _still(kept, site_id, now)
        if site is None:
            site = load_site(conn, site_id)
            if site is not None:
                kept[site_id] = (now, epoch, site)
        return site

    return load


def _site_by_key(conn: Tx, site_key: str) -> Site | None:
    # fetchall: the statement ends here, holding no read snapshot (site_key is unique).
    rows = conn.execute(_SITE_SELECT + " WHERE site_key = ?", (site_key,)).fetchall()
    return _site_of(tuple(rows[0])) if rows else None


async def get_site_by_api_token(db: Database, api_token: str) -> Site | None:
    row = await db.fetch_one(
        "SELECT * FROM sites WHERE api_token_hash = ?", (hash_token(api_token),)
    )
    return row_to_site(row) if row else None


async def get_site_by_name(db: Database, name: str) -> Site | None:
    row = await db.fetch_one("SELECT * FROM sites WHERE name = ? ORDER BY created_at", (name,))
    return row_to_site(row) if row else None


def get_meta(conn: Tx, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row["value"] if row else None


def set_meta_once(conn: Tx, key: str, value: str) -> str:
    """Store `value` under `key` unless one is already there; answer the stored one."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value)
    )
    stored = get_meta(conn, key)
    assert stored is not None
    return stored


async def list_sites(db: Database) -> list[Site]:
    rows = await db.fetch_all("SELECT * FROM sites ORDER BY created_at, id")
    return [row_to_site(r) for r in rows]


# The settings an owner may change, and the ones stored as JSON text.
JSON_SETTINGS = frozenset(
    {"domains", "prechat", "business_hours", "away_message", "email_settings"}
)
SETTINGS = frozenset({"name", "greeting", "locale", "color", "max_upload_bytes"}) | JSON_SETTINGS


def update_site(conn: Tx, site_id: str, changes: Mapping[str, object]) -> None:
    """`changes` maps settings (validated by the caller) to their new values."""
    unknown = set(changes) - SETTINGS
    if unknown:
        raise ValueError(f"not a site setting: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = ?" for column in changes)
    values = [json.dumps(v) if k in JSON_SETTINGS else v for k, v in changes.items()]
    conn.execute(f"UPDATE sites SET {assignments} WHERE id = ?", (*values, site_id))
    _changed()


def set_api_token_hash(conn: Tx, site_id: str, token_hash: str) -> None:
    conn.execute("UPDATE sites SET api_token_hash = ? WHERE id = ?", (token_hash, site_id))


def set_identity_secret(conn: Tx, site_id: str, secret: str) -> None:
    conn.execute("UPDATE sites SET identity_secret = ? WHERE id = ?", (secret, site_id))
    _changed()


def touch_origin(conn: Tx, site_id: str, origin: str, at: str) -> None:
    """The widget connected from `origin` (an allowed one) at `at`."""
    conn.execute(
        "INSERT INTO site_origins (site_id, origin, last_seen_at) VALUES (?, ?, ?)"
        " ON CONFLICT (site_id, origin) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        (site_id, origin, at),
    )


@dataclass(frozen=True, slots=True)
class OriginSeen:
    origin: str
    last_seen_at: str


async def origins_seen(db: Database, site_id: str) -> list[OriginSeen]:
    """Every origin the widget connected from, with when it last did, newest first."""
    rows = await db.fetch_all(
        "SELECT origin, last_seen_at FROM site_origins WHERE site_id = ?"
        " ORDER BY last_seen_at DESC LIMIT 100",
        (site_id,),
    )
    return [OriginSeen(r["origin"], r["last_seen_at"]) for r in rows]
