"""Public-room rules without I/O: names, posting decisions, throttles, settings, frames."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from chat_server.domain import audience
from chat_server.domain import frames as f
from chat_server.domain.models import Room
from chat_server.domain.public_rooms import (
    PostKey,
    PostLimits,
    PostThrottle,
    RoomChanges,
    VisitorPostState,
    check_may_change,
    default_room_name,
    faq_draft,
    generated_name,
    generated_names,
    mute_active,
    mute_until,
    name_words,
    room_changes,
    slow_mode_wait,
    validate_display_name,
    visitor_post_refusal,
)
from chat_server.errors import ErrorCode, SapaError
from chat_server.store.migrations import migrate
from tests.conftest import sqlite_before

NOW = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
AGENTS = ("Rina", "Sari (Owner)", "Budi Santoso")


def refused(name: str, protected: tuple[str, ...] = AGENTS) -> ErrorCode | None:
    try:
        validate_display_name(name, protected)
    except SapaError as exc:
        return exc.code
    return None


@pytest.mark.parametrize(
    "name",
    [
        "Admin",
        "ADMIN",
        "admin toko",
        "AdminBudi",
        "4dm1n",
        "@dm!n",
        "a d m i n",
        "a.d.m.i.n",
        "aaadmiiin",
        "ＡＤＭＩＮ",
        "аdmin",  # Cyrillic a
        "ádmín",
        "ad\u200bmin",  # zero-width space
        "a\u0338dmin",  # a combining mark
        "CS",
        "cs rina",
        "Official Store",
        "0fficial",
        "Staff",
        "st4ff",
        "Moderator",
        "Toko Sepatu",
        "tokobaju",
        "Budi Shop",
        "OWNER",
        "Customer Service",
        "Pemilik",
        # Confusables (UTS #39 skeletons), small capitals, I/l and rn/m swaps.
        "ᴀᴅᴍɪɴ",
        "ADMlN",
        "Adrnin",
        "0fficia1",
        "ꜱᴜᴘᴘᴏʀᴛ",
        "𝐀𝐝𝐦𝐢𝐧",
        "Ѕtаff",  # Cyrillic S and a
    ],
)
def test_staff_words_are_reserved_whatever_the_spelling(name: str) -> None:
    assert refused(name, ()) == ErrorCode.FORBIDDEN


@pytest.mark.parametrize(
    "name",
    [
        "Rina",
        "rina",
        "R1na",
        "RINA 99",
        "Kak Rina",
        "RinaCS",
        "Budi Santoso",
        "budisantoso",
        "Sari",
        "𝐑𝐢𝐧𝐚",  # mathematical bold
        "ʀɪɴᴀ",  # small capitals
        "Rlna",  # l for i
        "RIna",
        "Ꭱina",  # Cherokee R
        "ꓣina",  # Lisu R
        "Вudi Santoso",  # Cyrillic B
    ],
)
def test_names_equal_to_or_containing_an_agents_are_refused(name: str) -> None:
    assert refused(name) == ErrorCode.FORBIDDEN


@pytest.mark.parametrize(
    "name",
    [
        "Siti Aminah",
        "Karina",  # contains "rina" inside a word, but is not Rina
        "Badminton Lover",  # "admin" inside a word
        "Marcus",
        "Budi",  # a part of an agent's name is not the agent
        "Dewi 88",
        "José",
        "Sapardi",
        "Resmiati",
        "Nguyễn Văn An",
        "Rini",  # one letter from an agent's name, and not a look-alike of it
        "Rani",
        "Lili",
        "Mira",
        "Ilham",
        "Muhammad",
        "Camelia",
        "Moderna",
    ],
)
def test_ordinary_names_pass(name: str) -> None:
    assert refused(name) is None


def test_visitors_without_a_name_get_a_generated_one_in_the_sites_language() -> None:
    never: set[str] = set()
    first = generated_name("cus_abc", "id", AGENTS, never.__contains__)
    assert re.fullmatch(r"Pembeli [0-9A-F]{4}", first)
    assert generated_name("cus_abc", "id", AGENTS, never.__contains__) == first  # stable
    assert re.fullmatch(
        r"Shopper [0-9A-F]{4}", generated_name("cus_abc", "en", AGENTS, never.__contains__)
    )
    assert generated_name("cus_abc", "fr", AGENTS, never.__contains__).startswith("Shopper ")
    # Taken by another visitor: the next candidate.
    taken = {first}
    second = generated_name("cus_abc", "id", AGENTS, taken.__contains__)
    assert second != first and second.startswith("Pembeli ")
    # A candidate that would look like staff is skipped, whatever the shop's staff are called.
    candidates = list(generated_names("cus_abc", "id"))
    staff = (candidates[0].split()[1],)
    assert generated_name("cus_abc", "id", staff, never.__contains__) == candidates[1]


def test_generated_names_cannot_be_chosen() -> None:
    for name in (
        "Pembeli 7F3A",
        "pembeli 7f3a",
        "Shopper ABCD12",
        "Pengunjung 7F3A",
        "Visitor 9a9a",
    ):
        assert refused(name) in (ErrorCode.BAD_REQUEST, ErrorCode.FORBIDDEN), name
    assert refused("Pembeli 7F3A") == ErrorCode.BAD_REQUEST
    for name in ("Pembeli Setia", "Budi 7F3A", "Pembeli"):
        assert refused(name) is None, name


def test_names_are_cleaned_and_bounded() -> None:
    assert validate_display_name("  Siti \t  Aminah  ") == "Siti Aminah"
    assert validate_display_name("Si\u200bti") == "Siti"
    for name in ("x", "y" * 41, "   ", "!!!", "1234", "\u200b\u200b\u200b"):
        assert refused(name, ()) == ErrorCode.BAD_REQUEST, name
    assert refused(None, ()) == ErrorCode.BAD_REQUEST  # type: ignore[arg-type]
    assert len(validate_display_name("y" * 40)) == 40


def test_name_words_fold_case_accents_lookalikes_and_leet() -> None:
    # Words are compared as caseless skeletons: 'm' reads 'rn', as UTS #39 says.
    admin = name_words("admin")
    assert admin == ["adrnin"]
    for spelling in ("ÁdMiN", "ᴀᴅᴍɪɴ", "ADMlN", "Adrnin", "𝐚𝐝𝐦𝐢𝐧", "аdmin"):
        assert name_words(spelling) == admin, spelling
    assert name_words("CSRina", camel=True) == ["cs", "rina"]
    assert name_words("AdminBudi", camel=True) == [*admin, "budi"]
    assert name_words("a-d-m-i-n toko") == [*admin, "toko"]
    assert name_words("Sh0ppp") == ["shop"]
    assert name_words("Rini") != name_words("Rina")


def test_slow_mode_counts_whole_seconds_from_the_last_post() -> None:
    assert slow_mode_wait(0, NOW, NOW) == 0
    assert slow_mode_wait(30, None, NOW) == 0
    assert slow_mode_wait(30, NOW - timedelta(seconds=10), NOW) == 20
    assert slow_mode_wait(30, NOW - timedelta(seconds=29.5), NOW) == 1
    assert slow_mode_wait(30, NOW - timedelta(seconds=30), NOW) == 0


def test_mutes_end_on_time_and_zero_unmutes() -> None:
    until = mute_until(NOW, 10)
    assert until == NOW + timedelta(minutes=10)
    assert mute_active(until, NOW) and not mute_active(until, NOW + timedelta(minutes=10))
    assert mute_until(NOW, 0) is None and not mute_active(None, NOW)
    with pytest.raises(SapaError):
        mute_until(NOW, 7 * 24 * 60 + 1)


def state(**changes: object) -> VisitorPostState:
    base: dict[str, object] = {
        "archived": False,
        "muted_until": None,
        "slow_mode_seconds": 0,
        "last_post_at": None,
    }
    return VisitorPostState(**{**base, **changes})  # type: ignore[arg-type]


def test_a_visitor_post_is_refused_for_one_reason_at_a_time() -> None:
    assert visitor_post_refusal(state(), NOW) is None
    cases = [
        (
            state(archived=True, muted_until=NOW + timedelta(minutes=5)),
            ErrorCode.FORBIDDEN,
            "archived",
        ),
        (state(muted_until=NOW + timedelta(minutes=5)), ErrorCode.FORBIDDEN, "10:05:00.000Z"),
        (
            state(slow_mode_seconds=60, last_post_at=NOW - timedelta(seconds=15)),
            ErrorCode.RATE_LIMITED,
            "wait 45 s",
        ),
    ]
    for case, code, text in cases:
        refusal = visitor_post_refusal(case, NOW)
        assert refusal is not None and refusal.code == code and text in refusal.message
    assert visitor_post_refusal(state(muted_until=NOW - timedelta(seconds=1)), NOW) is None


def visitor_key(
    visitor: str, room: str = "r1", address: str | None = None, new: bool = False
) -> PostKey:
    return PostKey(visitor, room, address, new)


def test_the_post_throttle_allows_five_then_one_every_six_seconds_per_visitor() -> None:
    throttle = PostThrottle(PostLimits(per_address=0, per_room=0))
    assert [throttle.wait(visitor_key("ani"), 0.0) for _ in range(5)] == [0] * 5
    assert throttle.wait(visitor_key("ani"), 0.0) == 6
    assert throttle.wait(visitor_key("budi"), 0.0) == 0
    assert throttle.wait(visitor_key("ani"), 3.0) == 3
    assert throttle.wait(visitor_key("ani"), 6.0) == 0


def test_a_new_identity_starts_with_one_post_and_earns_the_rest() -> None:
    throttle = PostThrottle(PostLimits(per_address=0, per_room=0))
    assert throttle.wait(visitor_key("new", new=True), 0.0) == 0
    assert throttle.wait(visitor_key("new", new=True), 0.0) == 6
    assert throttle.wait(visitor_key("new"), 6.0) == 0
    # Once known, its allowance is its own, whatever it is called now.
    assert throttle.knows("new") and not throttle.knows("other")


def test_identities_behind_one_address_and_in_one_room_share_an_allowance() -> None:
    throttle = PostThrottle(PostLimits(per_address=10, per_room=15))
    # 40 throwaway identities from one address: ten posts go, then one every 6 s.
    results = [
        throttle.wait(visitor_key(f"v{i}", address="10.0.0.1", new=True), 0.0) for i in range(40)
    ]
    assert results[:10] == [0] * 10 and set(results[10:]) == {6}
    # Another address posts in the same room until the room's own allowance is spent.
    others = [throttle.wait(visitor_key(f"w{i}", address="10.0.0.2"), 0.0) for i in range(6)]
    assert others == [0, 0, 0, 0, 0, 4]
    assert throttle.wait(visitor_key("x", room="r2", address="10.0.0.3"), 0.0) == 0
    # A refused post takes nothing: w5's own allowance is intact.
    assert throttle.buckets["v:w5"].tokens == 5


def test_the_post_throttle_forgets_idle_visitors_only() -> None:
    throttle = PostThrottle(PostLimits(per_address=0, per_room=0), max_keys=2)
    throttle.wait(visitor_key("a"), 0.0)
    throttle.wait(visitor_key("b"), 100.0)
    throttle.wait(visitor_key("c"), 100.0)  # full: "a" has been idle a whole window
    assert set(throttle.buckets) == {"v:b", "v:c"}


def test_room_changes_validate_and_owners_alone_rename_archive_or_reorder() -> None:
    changes = room_changes({"slow_mode_seconds": 30, "pinned_message_id": None})
    assert changes == RoomChanges(slow_mode_seconds=30, pin=True, pinned_message_id=None)
    check_may_change(changes, "agent")
    owner_only = room_changes({"name": "  Promo  ", "archived": True, "position": 3})
    assert owner_only.name == "Promo" and owner_only.owner_only
    with pytest.raises(SapaError) as denied:
        check_may_change(owner_only, "agent")
    assert denied.value.code == ErrorCode.FORBIDDEN
    check_may_change(owner_only, "owner")
    for bad in (
        {},
        {"slow_mode_seconds": 3601},
        {"slow_mode_seconds": True},
        {"position": -1},
        {"archived": 1},
        {"name": ""},
        {"name": "x" * 81},
        {"pinned_message_id": 5},
    ):
        with pytest.raises(SapaError):
            room_changes(bad)
    # REST has no pin: a pinned_message_id there is ignored.
    assert not room_changes({"pinned_message_id": "m", "position": 1}, allow_pin=False).pin


def test_public_room_frames_parse_and_bound() -> None:
    history = f.parse('{"type": "history", "room_id": "r"}', "widget").command
    assert history == f.History("r", None, 30)
    paged = f.parse('{"type": "history", "room_id": "r", "before_seq": 9, "limit": 50}', "agent")
    assert paged.command == f.History("r", 9, 50)
    send = f.parse(
        '{"type": "send", "room_id": "r", "client_msg_id": "c", "body": "b", "reply_to": "m"}',
        "widget",
    )
    assert isinstance(send.command, f.Send) and send.command.reply_to == "m"
    assert f.parse('{"type": "profile", "name": "Ani"}', "widget").command == f.Profile("Ani")
    mute = f.parse('{"type": "mute", "room_id": "r", "customer_id": "c", "minutes": 0}', "agent")
    assert mute.command == f.Mute("r", "c", 0)
    hide = '{"type": "moderate", "room_id": "r", "message_id": "m", "action": "hide"}'
    assert f.parse(hide, "agent").command == f.Moderate("r", "m", "hide")
    for raw, client in (
        ('{"type": "history", "room_id": "r", "limit": 51}', "widget"),
        ('{"type": "history", "room_id": "r", "before_seq": 0}', "widget"),
        ('{"type": "profile", "name": "Ani"}', "agent"),
        (hide, "widget"),
        ('{"type": "mute", "room_id": "r", "customer_id": "c", "minutes": 10081}', "agent"),
        ('{"type": "room_settings", "room_id": "r"}', "agent"),
        ('{"type": "room_settings", "room_id": "r", "position": 1}', "widget"),
        ('{"type": "send", "client_msg_id": "c", "body": "b", "reply_to": "m"}', "widget"),
        ('{"type": "moderate", "room_id": "r", "message_id": "m", "action": "delete"}', "agent"),
    ):
        with pytest.raises(f.FrameError) as error:
            f.parse(raw, client)  # type: ignore[arg-type]
        assert error.value.code == ErrorCode.BAD_REQUEST, raw


def _room(kind: str) -> Room:
    return Room(
        "r1", "s1", kind, "open", 0, "t", "t", customer_id=None if kind == "public" else "c1"
    )  # type: ignore[arg-type]


def test_read_marks_of_a_public_room_go_to_the_readers_own_tabs_only() -> None:
    public = _room("public")
    assert audience.for_read(public, "customer", "c9") == (audience.customer("c9"),)
    assert audience.for_read(public, "agent", "a1") == (audience.AGENTS,)
    private = _room("private")
    assert audience.for_read(private, "customer", "c1") == audience.room_readers(private)
    assert audience.room_visitors(public) == (audience.Audience("room", "r1"),)


def test_default_names_and_faq_drafts() -> None:
    assert default_room_name("id") == "Tanya Jawab"
    assert default_room_name("en") == default_room_name("fr") == "Questions"
    draft = faq_draft("  q " + "x" * 400, "Jawab", "en")
    assert draft.status == "draft" and draft.lang == "en" and draft.answer == "Jawab"
    assert len(draft.question or "") == 300 and (draft.question or "").endswith("…")


def test_the_migration_gives_existing_sites_their_default_room_once() -> None:
    conn = sqlite_before("_public_rooms.sql")
    for site, locale in (("s_id", "id"), ("s_en", "en")):
        conn.execute(
            "INSERT INTO sites (id, name, site_key, identity_secret, api_token_hash, domains,"
            " locale, created_at) VALUES (?, ?, ?, '', ?, '[]', ?, 't')",
            (site, site, "k" + site, "h" + site, locale),
        )
    migrate(conn)
    migrate(conn)
    rows = conn.execute(
        "SELECT site_id, name, kind, status, position, archived FROM rooms ORDER BY site_id"
    ).fetchall()
    assert rows == [
        ("s_en", "Questions", "public", "open", 1, 0),
        ("s_id", "Tanya Jawab", "public", "open", 1, 0),
    ]
