"""Teams (owners manage them; a conversation given to a team waits for its online agents)
and labels (agents put them on conversations; inbox, search and the record show them)."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Env
from tests.server.test_crm import identify
from tests.server.test_routing import bearer, latest_queue, put_routing, queue_in_db
from tests.server.test_team import owner_headers


async def staff(env: Env, email: str) -> dict[str, str]:
    _, _, headers, csrf = await env.agent(email)
    return {**headers, "x-csrf-token": csrf, "origin": env.url}


async def make_team(env: Env, name: str, members: list[str], site: str = "a") -> Any:
    assert env.http is not None
    made = await env.http.post(
        "/api/v1/teams", json={"name": name, "members": members}, headers=bearer(env, site)
    )
    assert made.status_code == 201, made.text
    return made.json()


async def test_owners_manage_teams_and_nothing_crosses_sites(env: Env) -> None:
    assert env.http is not None
    site, other = env.sites["a"], env.sites["b"]
    team = await make_team(env, "Pembayaran", [site.agent_id])
    assert team["name"] == "Pembayaran" and team["members"] == [site.agent_id]
    listed = (await env.http.get("/api/v1/teams", headers=bearer(env))).json()["items"]
    assert [t["id"] for t in listed] == [team["id"]]
    assert (await env.http.get("/api/v1/teams", headers=bearer(env, "b"))).json()["items"] == []

    renamed = await env.http.patch(
        f"/api/v1/teams/{team['id']}",
        json={"name": "Pembayaran & Refund", "members": [site.agent_id, site.owner_id]},
        headers=bearer(env),
    )
    assert renamed.status_code == 200
    assert renamed.json()["members"] == sorted([site.agent_id, site.owner_id])
    await make_team(env, "Pengiriman", [])
    bad: list[tuple[str, str, dict[str, Any], int]] = [
        ("post", "/api/v1/teams", {"name": "pengiriman"}, 409),  # names ignore case
        ("post", "/api/v1/teams", {"name": ""}, 400),
        ("post", "/api/v1/teams", {"name": "x" * 61}, 400),
        ("post", "/api/v1/teams", {"name": 5}, 400),
        ("post", "/api/v1/teams", {"name": "a\u202eb"}, 400),
        ("post", "/api/v1/teams", {"name": "X", "members": [other.agent_id]}, 404),
        ("post", "/api/v1/teams", {"name": "X", "members": "all"}, 400),
        ("patch", f"/api/v1/teams/{team['id']}", {"colour": "red"}, 400),
        ("patch", f"/api/v1/teams/{team['id']}", {"name": "PENGIRIMAN"}, 409),
        ("patch", "/api/v1/teams/team_nope", {"name": "Y"}, 404),
    ]
    for method, path, body, status in bad:
        response = await env.http.request(method, path, json=body, headers=bearer(env))
        assert response.status_code == status, (method, path, body, response.text)
    # Another site's token, and an agent who is no owner.
    foreign = await env.http.patch(
        f"/api/v1/teams/{team['id']}", json={"name": "Z"}, headers=bearer(env, "b")
    )
    assert foreign.status_code == 404
    agent = await staff(env, site.agent_email)
    refused = await env.http.post("/api/v1/teams", json={"name": "Mine"}, headers=agent)
    assert refused.status_code == 403
    assert (await env.http.get("/api/v1/teams", headers=agent)).status_code == 200
    gone = await env.http.delete(f"/api/v1/teams/{team['id']}", headers=bearer(env))
    assert gone.status_code == 204
    names = [
        t["name"] for t in (await env.http.get("/api/v1/teams", headers=agent)).json()["items"]
    ]
    assert names == ["Pengiriman"]


async def test_a_conversation_given_to_a_team_waits_for_that_teams_agents(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    assert (await put_routing(env, {"mode": "round_robin", "default_cap": 3})).status_code == 200
    team = await make_team(env, "Pembayaran", [site.owner_id])
    owner, *_ = await env.agent(site.owner_email)
    await owner.request("status", status="away")
    agent, *_ = await env.agent(site.agent_email)
    widget, _ = await env.widget("a")
    room = (await widget.request("send", client_msg_id="m", body="refund?"))["message"]["room_id"]
    await agent.event("room", where=lambda f: f["room"]["assignee"] is not None)

    done = await agent.request("transfer", room_id=room, team_id=team["id"], note="Soal refund")
    assert done["type"] == "ack", done
    assert done["room"]["status"] == "queued" and done["room"]["assignee"] is None
    assert done["room"]["team"] == {"id": team["id"], "name": "Pembayaran"}
    told = await owner.event("transfer", room_id=room)
    assert told["team"]["id"] == team["id"] and told["note"] == "Soal refund"
    # The agent has free slots but is not in the team: the conversation waits for it.
    assert queue_in_db(env) == [room]
    # A conversation of no team still goes to the free agent, past the team's waiting one.
    other, _ = await env.widget("a")
    second = (await other.request("send", client_msg_id="m", body="halo"))["message"]["room_id"]
    assigned = env.sql("SELECT assignee_id FROM rooms WHERE id = ?", (second,))
    assert assigned[0]["assignee_id"] == site.agent_id
    # The team's agent comes online and takes it at once.
    await owner.request("status", status="online")
    row = env.sql("SELECT assignee_id, team_id FROM rooms WHERE id = ?", (room,))[0]
    assert (row["assignee_id"], row["team_id"]) == (site.owner_id, team["id"])
    notes = env.sql("SELECT body FROM messages WHERE room_id = ? AND kind = 'note'", (room,))
    assert [n["body"] for n in notes] == ["Soal refund"]
    assert all(f.get("message", {}).get("kind") != "note" for f in await widget.drain(0.2))
    assert all("team" not in f.get("room", {}) for f in widget.pending)

    # Inbox filter by team; deleting the team frees its conversations for anyone.
    listed = await env.http.get(f"/api/v1/rooms?team={team['id']}", headers=bearer(env))
    assert [r["id"] for r in listed.json()["items"]] == [room]
    none = await env.http.get("/api/v1/rooms?team=none", headers=bearer(env))
    assert [r["id"] for r in none.json()["items"]] == [second]
    found = await env.http.get(f"/api/v1/search?q=refund&team={team['id']}", headers=bearer(env))
    assert {i["room_id"] for i in found.json()["items"]} == {room}  # the question and the note
    await env.http.delete(f"/api/v1/teams/{team['id']}", headers=bearer(env))
    assert env.sql("SELECT team_id FROM rooms WHERE id = ?", (room,))[0]["team_id"] is None


async def test_bad_team_transfers_are_refused(env: Env) -> None:
    site = env.sites["a"]
    theirs = await make_team(env, "Theirs", [], site="b")
    ours = await make_team(env, "Ours", [site.owner_id])
    agent, *_ = await env.agent(site.agent_email)
    widget, _ = await env.widget("a")
    room = (await widget.request("send", client_msg_id="m", body="halo"))["message"]["room_id"]
    for fields, code in [
        ({"team_id": theirs["id"]}, "not_found"),
        ({"team_id": "team_nope"}, "not_found"),
        ({"team_id": 7}, "bad_request"),
        ({"team_id": ours["id"], "agent_id": site.owner_id}, "bad_request"),
    ]:
        answer = await agent.request("transfer", room_id=room, **fields)
        assert answer["type"] == "error" and answer["code"] == code, (fields, answer)
    assert (await agent.request("transfer", room_id=room, team_id=ours["id"]))["type"] == "ack"
    again = await agent.request("transfer", room_id=room, team_id=ours["id"])
    assert again["code"] == "conflict"


async def test_labels_on_conversations_filters_record_and_erase(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    agent_ws, *_ = await env.agent(site.agent_email)
    agent = await staff(env, site.agent_email)
    widget, session = await env.widget("a")
    room = (await widget.request("send", client_msg_id="m", body="barang rusak"))["message"][
        "room_id"
    ]
    path = f"/api/v1/rooms/{room}/labels"
    put = await env.http.put(path, json={"names": ["VIP", "Refund", "vip"]}, headers=agent)
    assert put.status_code == 200, put.text
    labels = put.json()["labels"]
    assert [x["name"] for x in labels] == ["Refund", "VIP"]
    assert all(x["color"].startswith("#") for x in labels)
    by_name = {x["name"]: x["id"] for x in labels}
    event = await agent_ws.event("room", where=lambda f: f["room"].get("labels"))
    assert [x["name"] for x in event["room"]["labels"]] == ["Refund", "VIP"]
    assert all("labels" not in f.get("room", {}) for f in await widget.drain(0.2))

    site_labels = (await env.http.get("/api/v1/labels", headers=agent)).json()["items"]
    assert sorted(x["name"] for x in site_labels) == ["Refund", "VIP"]
    other = await env.http.post("/api/v1/labels", json={"name": "B"}, headers=bearer(env, "b"))
    assert other.status_code == 201
    bad: list[tuple[dict[str, Any], int]] = [
        ({"label_ids": [other.json()["id"]]}, 404),  # another site's label
        ({"label_ids": "VIP"}, 400),
        ({"names": [""]}, 400),
        ({"names": [f"l{i}" for i in range(21)]}, 400),
        ({"tags": []}, 400),
        ({}, 400),
    ]
    for body, status in bad:
        response = await env.http.put(path, json=body, headers=agent)
        assert response.status_code == status, (body, response.text)
    foreign = await env.http.put(path, json={"names": ["x"]}, headers=bearer(env, "b"))
    assert foreign.status_code == 404

    kept = await env.http.put(path, json={"label_ids": [by_name["VIP"]]}, headers=agent)
    assert [x["name"] for x in kept.json()["labels"]] == ["VIP"]
    listed = await env.http.get(f"/api/v1/rooms?label={by_name['VIP']}", headers=agent)
    assert [r["id"] for r in listed.json()["items"]] == [room]
    assert listed.json()["items"][0]["labels"][0]["name"] == "VIP"
    empty = await env.http.get(f"/api/v1/rooms?label={by_name['Refund']}", headers=agent)
    assert empty.json()["items"] == []
    one = (await env.http.get(f"/api/v1/rooms/{room}", headers=agent)).json()
    assert [x["name"] for x in one["labels"]] == ["VIP"]
    found = await env.http.get(f"/api/v1/search?q=rusak&label={by_name['VIP']}", headers=agent)
    assert [i["room_id"] for i in found.json()["items"]] == [room]

    # Owners recolour, rename and delete; agents may not.
    label_path = f"/api/v1/labels/{by_name['VIP']}"
    refused = await env.http.patch(label_path, json={"color": "#000000"}, headers=agent)
    assert refused.status_code == 403
    for body in ({"color": "red"}, {"name": "Refund"}, {"size": 1}):
        response = await env.http.patch(label_path, json=body, headers=bearer(env))
        assert response.status_code in (400, 409), (body, response.text)
    recoloured = await env.http.patch(
        label_path, json={"color": "#123ABC", "name": "Pelanggan VIP"}, headers=bearer(env)
    )
    assert recoloured.json() == {"id": by_name["VIP"], "name": "Pelanggan VIP", "color": "#123abc"}

    customer_id = session["customer_id"]
    record = (await env.http.get(f"/api/v1/customers/{customer_id}", headers=bearer(env))).json()
    assert [x["name"] for x in record["rooms"][0]["labels"]] == ["Pelanggan VIP"]
    exported = await env.http.get(f"/api/v1/customers/{customer_id}/export", headers=bearer(env))
    assert "Pelanggan VIP" in exported.text
    erased = await env.http.delete(f"/api/v1/customers/{customer_id}", headers=bearer(env))
    assert erased.status_code in (200, 204)
    assert env.sql("SELECT * FROM room_labels WHERE room_id = ?", (room,)) == []

    deleted = await env.http.delete(f"/api/v1/labels/{by_name['Refund']}", headers=bearer(env))
    assert deleted.status_code == 204
    left = (await env.http.get("/api/v1/labels", headers=agent)).json()["items"]
    assert [x["name"] for x in left] == ["Pelanggan VIP"]


async def test_a_shops_server_routes_a_conversation_to_a_team_over_rest(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    team = await make_team(env, "Pembayaran", [site.agent_id])
    agent, *_ = await env.agent(site.agent_email)
    widget, _ = await env.widget("a")
    room = (await widget.request("send", client_msg_id="m", body="bayar"))["message"]["room_id"]
    path = f"/api/v1/rooms/{room}/transfer"
    for body, status in [
        ({"team_id": team["id"], "agent_id": site.agent_id}, 400),
        ({}, 400),
        ({"team_id": "team_nope"}, 404),
        ({"team_id": team["id"], "note": ["x"]}, 400),
    ]:
        response = await env.http.post(path, json=body, headers=bearer(env))
        assert response.status_code == status, (body, response.text)
    foreign = await env.http.post(path, json={"team_id": team["id"]}, headers=bearer(env, "b"))
    assert foreign.status_code == 404
    done = await env.http.post(
        path, json={"team_id": team["id"], "note": "Dari halaman checkout"}, headers=bearer(env)
    )
    assert done.status_code == 200, done.text
    assert done.json()["room"]["team"]["name"] == "Pembayaran"
    told = await agent.event("transfer", room_id=room)
    assert told["team"]["id"] == team["id"] and told["note"] == "Dari halaman checkout"


async def test_labels_follow_a_merged_conversation(env: Env) -> None:
    assert env.http is not None
    agent = await staff(env, env.sites["a"].agent_email)
    first = await env.widget_session("a")
    await identify(env, "a", first["token"], "u-9")
    one, _ = await env.widget("a", token=first["token"])
    kept = (await one.request("send", client_msg_id="a", body="laptop"))["message"]["room_id"]
    other, welcome = await env.widget("a")
    merged = (await other.request("send", client_msg_id="a", body="hp"))["message"]["room_id"]
    for room, name in ((kept, "Grosir"), (merged, "Retur")):
        put = await env.http.put(
            f"/api/v1/rooms/{room}/labels", json={"names": [name]}, headers=agent
        )
        assert put.status_code == 200
    assert (await identify(env, "a", welcome["token"], "u-9")).status_code == 200
    one_room = (await env.http.get(f"/api/v1/rooms/{kept}", headers=agent)).json()
    assert [x["name"] for x in one_room["labels"]] == ["Grosir", "Retur"]


async def test_team_and_label_changes_are_in_the_audit_log(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    owner = await owner_headers(env)

    async def logged() -> list[tuple[str, str, dict[str, Any], str | None]]:
        got = await env.http.get("/api/v1/audit", headers=owner)  # type: ignore[union-attr]
        assert got.status_code == 200, got.text
        items = [i for i in got.json()["items"] if i["action"].split("_")[0] in WORKGROUP]
        return [(i["action"], i["target"], i["detail"], i["actor"]["id"]) for i in items][::-1]

    team = (
        await env.http.post(
            "/api/v1/teams", json={"name": "Gudang", "members": [site.agent_id]}, headers=owner
        )
    ).json()
    path = f"/api/v1/teams/{team['id']}"
    patch = {"name": "Gudang Timur", "members": [site.owner_id]}
    assert (await env.http.patch(path, json=patch, headers=owner)).status_code == 200
    assert (await env.http.patch(path, json=patch, headers=owner)).status_code == 200  # no-op
    taken = await env.http.post("/api/v1/teams", json={"name": "gudang timur"}, headers=owner)
    assert taken.status_code == 409
    assert (await env.http.delete(path, headers=owner)).status_code == 204
    by = site.owner_id
    assert await logged() == [
        ("team_created", team["id"], {"name": "Gudang"}, by),
        ("team_member_added", team["id"], {"team": "Gudang", "agent_id": site.agent_id}, by),
        ("team_renamed", team["id"], {"from": "Gudang", "to": "Gudang Timur"}, by),
        ("team_member_added", team["id"], {"team": "Gudang Timur", "agent_id": by}, by),
        (
            "team_member_removed",
            team["id"],
            {"team": "Gudang Timur", "agent_id": site.agent_id},
            by,
        ),
        ("team_deleted", team["id"], {"name": "Gudang Timur"}, by),
    ]

    # Labels: made by any agent (also by naming one on a conversation), changed by owners.
    agent = await staff(env, site.agent_email)
    made = await env.http.post(
        "/api/v1/labels", json={"name": "Grosir", "color": "#123abc"}, headers=agent
    )
    label = made.json()
    widget, _ = await env.widget("a")
    room = (await widget.request("send", client_msg_id="c1", body="halo"))["message"]["room_id"]
    put = await env.http.put(
        f"/api/v1/rooms/{room}/labels", json={"names": ["Retur"]}, headers=agent
    )
    retur = put.json()["labels"][0]
    label_path = f"/api/v1/labels/{label['id']}"
    assert (await env.http.patch(label_path, json={"color": "#abcdef"}, headers=owner)).is_success
    assert (await env.http.patch(label_path, json={"color": "#abcdef"}, headers=owner)).is_success
    assert (await env.http.delete(label_path, headers=owner)).status_code == 204
    labels = [e for e in await logged() if e[0].startswith("label_")]
    assert labels == [
        ("label_created", label["id"], {"name": "Grosir", "color": "#123abc"}, site.agent_id),
        ("label_created", retur["id"], {"name": "Retur", "color": retur["color"]}, site.agent_id),
        (
            "label_updated",
            label["id"],
            {"name": "Grosir", "color": "#abcdef", "was": {"name": "Grosir", "color": "#123abc"}},
            by,
        ),
        ("label_deleted", label["id"], {"name": "Grosir", "color": "#abcdef"}, by),
    ]


WORKGROUP = ("team", "label")


async def test_a_teams_conversation_is_told_its_place_in_its_teams_line(env: Env) -> None:
    assert env.http is not None
    assert (await put_routing(env, {"mode": "round_robin", "default_cap": 3})).status_code == 200
    team = await make_team(env, "Pembayaran", [env.sites["a"].owner_id])
    # Nobody online: everything waits. Four shoppers in arrival order; two go to the team.
    shoppers = [await env.widget("a") for _ in range(4)]
    rooms = []
    for widget, _ in shoppers:
        sent = await widget.request("send", client_msg_id="m", body="halo")
        rooms.append(sent["message"]["room_id"])
    for room in (rooms[1], rooms[2]):
        moved = await env.http.post(
            f"/api/v1/rooms/{room}/transfer", json={"team_id": team["id"]}, headers=bearer(env)
        )
        assert moved.status_code == 200, moved.text
    assert queue_in_db(env) == rooms

    async def places() -> list[int | None]:
        got = [await latest_queue(w, r) for (w, _), r in zip(shoppers, rooms, strict=True)]
        return [f["position"] if f else None for f in got]

    # The team's two count only each other; the site's count everyone before them.
    assert await places() == [1, 1, 2, 4]
    token = shoppers[2][1]["token"]
    _, welcome = await env.widget("a", token=token)
    assert next(r for r in welcome["rooms"] if r["id"] == rooms[2])["queue"]["position"] == 2
    # The team goes: its conversations are back in the site's line, and told so.
    assert (await env.http.delete(f"/api/v1/teams/{team['id']}", headers=bearer(env))).is_success
    assert await places() == [1, 2, 3, 4]
