"""The CRM store's upserts on a real file: a merge fills gaps and keeps the later of two dates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_server.domain.crm_rules import ProfileFields
from chat_server.services import admin
from chat_server.store import Database, customer_record, open_database, rfm_scores
from chat_server.store import crm as crm_store
from chat_server.store import customers as customer_store
from chat_server.store import public_rooms as public_store
from chat_server.store.sql import Tx


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(str(tmp_path / "crm.db"))
    await database.open()
    try:
        yield database
    finally:
        await database.close()


def _profile(attributes: dict[str, str], tags: tuple[str, ...]) -> ProfileFields:
    return ProfileFields(attributes=attributes, tags=tags)


async def test_merge_keeps_the_known_values_and_the_widest_dates(db: Database) -> None:
    site_id = (await admin.create_site(db, "Toko", ["toko.test"])).site_id

    def setup(conn: Tx) -> tuple[str, str, str, str]:
        room_id = public_store.insert_room(conn, site_id, "Tanya")
        other_id = public_store.insert_room(conn, site_id, "Promo")
        known = crm_store.profile_by_external(
            conn, site_id, "cus-1", _profile({"city": "Medan"}, ("vip",))
        )
        anon, _ = customer_store.insert_anonymous(conn, site_id)
        customer_store.activate(conn, site_id, anon)
        crm_store.apply_profile(conn, anon, _profile({"city": "Bali", "size": "L"}, ("vip", "new")))
        public_store.set_mute(conn, room_id, known, "2030-01-01T00:00:00.000Z", "agent")
        public_store.set_mute(conn, room_id, anon, "2031-01-01T00:00:00.000Z", "agent")
        public_store.set_mute(conn, other_id, known, "2032-01-01T00:00:00.000Z", "agent")
        public_store.set_mute(conn, other_id, anon, "2031-01-01T00:00:00.000Z", "agent")
        conn.execute(
            "UPDATE customers SET created_at = '2020-01-01T00:00:00.000Z',"
            " last_seen_at = '2029-01-01T00:00:00.000Z' WHERE id = ?",
            (anon,),
        )
        crm_store.merge(conn, site_id, anon, known)
        return room_id, other_id, known, anon

    room_id, other_id, known, anon = await db.write(setup)
    found = await customer_record.record(db, site_id, known)
    assert found is not None
    assert found.attributes == {"city": "Medan", "size": "L"}
    assert found.tags == ("new", "vip")
    assert (found.first_seen_at, found.last_seen_at) == (
        "2020-01-01T00:00:00.000Z",
        "2029-01-01T00:00:00.000Z",
    )
    # Identifying never lifts a mute: the later one of the two records wins.
    until = await db.write(
        lambda conn: [public_store.muted_until(conn, r, known) for r in (room_id, other_id)]
    )
    assert until == ["2031-01-01T00:00:00.000Z", "2032-01-01T00:00:00.000Z"]
    merged = await customer_record.record(db, site_id, anon)
    assert merged is not None and merged.merged_into == known


async def test_a_site_marked_dirty_keeps_its_latest_mark(db: Database) -> None:
    site_id = (await admin.create_site(db, "Toko", ["toko.test"])).site_id
    await db.write(lambda conn: rfm_scores.mark_rfm_dirty(conn, site_id, at=20.0))
    await db.write(lambda conn: rfm_scores.mark_rfm_dirty(conn, site_id, at=10.0))
    marks = await rfm_scores.dirty_sites(db)
    assert [(m.site_id, m.first_at, m.last_at) for m in marks] == [(site_id, 20.0, 20.0)]
    await db.write(lambda conn: rfm_scores.mark_rfm_dirty(conn, site_id, at=30.0))
    assert [m.last_at for m in await rfm_scores.dirty_sites(db)] == [30.0]
