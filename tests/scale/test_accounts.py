"""Console accounts across processes: one login limit for all of them, and a departed agent's
sockets closed on every process at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from chat_server.services.console_auth import EMAIL_LIMIT
from tests.conftest import timeout
from tests.scale.conftest import Cluster
from tests.server.conftest import PASSWORD
from tests.server.test_widget_gateway import closed_with


def sapa(db_path: str | Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "chat_server", *args, "--db", str(db_path)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout(60),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def new_agent(db_path: str | Path, email: str) -> None:
    """An agent on a site of the test's own: its lockout and its team touch no other test."""
    site = sapa(db_path, "site", "create", email, "--domain", "accounts.test", "--json")
    site_id = json.loads(site)["site_id"]
    args = ["agent", "create", "--site", site_id, "--email", email, "--name", email]
    sapa(db_path, *args, "--password-stdin", stdin=PASSWORD + "\n")


async def guess_until_refused(urls: list[str], email: str, address: str) -> tuple[int, int]:
    """Wrong guesses, each on a new connection, spread over `urls` in turn, until one is
    refused (or 16 were made); then the right password. (guesses checked, its status)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    checked = 0
    async with httpx.AsyncClient(transport=transport, timeout=timeout(30)) as http:
        for i in range(16):
            url = urls[i % len(urls)] + "/api/v1/auth/login"
            body = {"email": email, "password": f"wrong {i}"}
            response = await http.post(url, json=body, headers={"connection": "close"})
            if response.status_code == 429:
                break
            assert response.status_code == 401, response.text
            checked += 1
        body = {"email": email, "password": PASSWORD}
        right = await http.post(urls[0] + "/api/v1/auth/login", json=body)
    return checked, right.status_code


async def test_wrong_guesses_on_two_processes_share_one_limit(cluster: Cluster) -> None:
    email = "guessed@a.test"
    new_agent(cluster.db_path, email)
    urls = [node.server.url for node in cluster.nodes]
    checked, right = await guess_until_refused(urls, email, "127.0.0.4")
    assert checked <= EMAIL_LIMIT
    assert right == 429


async def test_deactivation_closes_sockets_on_every_process(cluster: Cluster) -> None:
    email = "leaver@a.test"
    new_agent(cluster.db_path, email)
    sockets = []
    for node in cluster.nodes:
        client, _ = await node.agent(await node.agent_cookie(email))
        sockets.append(client)
    sapa(cluster.db_path, "agent", "deactivate", email)
    assert [await closed_with(s.ws) for s in sockets] == [4000, 4000]
    refused = await cluster.nodes[1].http.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert refused.status_code == 403


async def test_an_owner_deactivating_from_the_team_page_closes_sockets_on_every_process(
    cluster: Cluster,
) -> None:
    site = sapa(cluster.db_path, "site", "create", "Team", "--domain", "team.test", "--json")
    site_id = json.loads(site)["site_id"]
    for email, role in (("boss@team.test", "owner"), ("gone@team.test", "agent")):
        args = ["agent", "create", "--site", site_id, "--email", email, "--name", email]
        sapa(cluster.db_path, *args, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
    sockets = []
    for node in cluster.nodes:
        client, welcome = await node.agent(await node.agent_cookie("gone@team.test"))
        sockets.append(client)
    agent_id = welcome["agent"]["id"]
    owner = cluster.nodes[0]
    login = await owner.http.post(
        "/api/v1/auth/login", json={"email": "boss@team.test", "password": PASSWORD}
    )
    owner.http.cookies.clear()
    headers = {
        "cookie": f"sapa_session={login.cookies['sapa_session']}",
        "x-csrf-token": login.json()["csrf_token"],
        "origin": owner.server.url,
    }
    done = await owner.http.patch(
        f"/api/v1/agents/{agent_id}", json={"active": False}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert [await closed_with(s.ws) for s in sockets] == [4000, 4000]
