"""What a newcomer gets from `sapa serve --demo`: a shop page, the widget, a console to log into."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from chat_server.services import demo
from chat_server.store import open_database
from tests.conftest import ServerProcess


def test_demo_shop_widget_console_and_every_page_render(demo_server: ServerProcess) -> None:
    with httpx.Client(base_url=demo_server.url, timeout=10) as http:
        shop = http.get("/demo")
        assert shop.status_code == 200
        assert (
            f'<script src="/widget.js" data-site="{demo_server.site_key}" async></script>'
            in shop.text
        )
        script = http.get("/widget.js")
        assert script.headers["content-type"].startswith("application/javascript")
        assert "attachShadow" in script.text
        assert http.get("/console", follow_redirects=False).headers["location"] == "/console/login"
        assert http.get("/console/login").status_code == 200
        login = http.post(
            "/api/v1/auth/login",
            json={"email": demo_server.owner_email, "password": demo_server.owner_password},
        )
        assert login.status_code == 200, demo_server.output
        for path in ("/console", "/console/faq", "/console/customers", "/console/settings"):
            page = http.get(path)
            assert page.status_code == 200, path
            boot = page.text.split('id="sapa-boot" type="application/json">', 1)[1].split(
                "</script>"
            )[0]
            assert json.loads(boot)["agent"]["email"] == demo_server.owner_email
        # Sample customers and orders, so RFM, segments and the customer pages show something.
        listed = http.get("/api/v1/customers", params={"limit": 50}).json()
        assert listed["total"] == 8
        by_id = {c["external_id"]: c for c in listed["items"]}
        assert by_id["cus-1001"]["rfm"]["segment"] == "champions"
        assert by_id["cus-1007"]["rfm"]["segment"] == "prospect"
        assert {c["rfm"]["method"] for c in listed["items"] if c["orders_count"]} == {"fixed"}
        assert len({c["rfm"]["segment"] for c in listed["items"]}) >= 4
        faq = http.get("/api/v1/faq").json()["items"]
        assert len(faq) >= 10 and all(e["status"] == "published" for e in faq)
        help_page = http.get(f"/help/{demo_server.site_key}")
        assert help_page.status_code == 200 and faq[0]["question"] in help_page.text
        # The demo agent's account works too.
        http.cookies.clear()
        agent = http.post(
            "/api/v1/auth/login",
            json={"email": demo_server.agent_email, "password": demo_server.owner_password},
        )
        assert agent.status_code == 200 and agent.json()["agent"]["role"] == "agent"


async def test_the_demo_seeds_its_samples_once(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "demo.db"), readers=1)
    await db.open()
    try:
        first = await demo.ensure_demo(db, "127.0.0.1")
        again = await demo.ensure_demo(db, "127.0.0.1")
        assert again.site_id == first.site_id
        row = await db.fetch_one(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders),"
            " (SELECT max(placed_at) FROM orders)"
        )
    finally:
        await db.close()
    assert row is not None and (row[0], row[1]) == (8, 16)
    # Dates moved so that the newest order is two days old on the first run.
    newest = datetime.fromisoformat(row[2].replace("Z", "+00:00"))
    assert timedelta(days=1) < datetime.now(UTC) - newest < timedelta(days=3)
