"""Operating a server: request logs from a real `sapa serve`, and `sapa site list`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.conftest import start_server, timeout
from tests.system.test_cli import sapa


def _site(db: Path) -> dict[str, str]:
    out = sapa(db, "site", "create", "Toko Log", "--domain", "127.0.0.1", "--json")
    return dict(json.loads(out.stdout))


def test_each_request_and_socket_is_one_json_line_without_secrets(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    site = _site(db)
    server = start_server(db, env={"SAPA_LOG_LEVEL": "info", "SAPA_LOG_FORMAT": "json"})
    try:
        secret = "tok_" + "s3cr3t" * 4
        assert httpx.get(f"{server.url}/api/v1/rooms?token={secret}").status_code == 401
        session = httpx.post(
            f"{server.url}/api/widget/session",
            json={"site_key": site["site_key"]},
            headers={"origin": server.url},
        ).json()
        with connect(server.url.replace("http", "ws") + "/ws/widget", origin=server.url) as ws:
            ws.send(json.dumps({"type": "hello", "token": session["token"]}))
            assert json.loads(ws.recv(timeout(10)))["type"] == "welcome"
        # The close line is written once the server has seen the socket go.
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.process.terminate()
        server.process.wait(timeout(10))
        assert server.process.stdout is not None
        output = server.process.stdout.read()
        server.stop()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "sapa.access"]
    rooms = [line for line in access if line["path"] == "/api/v1/rooms"]
    assert len(rooms) == 1, "one line per request: uvicorn's own access log is off"
    assert rooms[0]["method"] == "GET" and rooms[0]["status"] == 401
    assert isinstance(rooms[0]["ms"], float)
    widget_session = next(line for line in access if line["path"] == "/api/widget/session")
    assert widget_session["status"] == 200
    sockets = [(line["event"], line["status"]) for line in access if line["path"] == "/ws/widget"]
    assert sockets == [("open", 101), ("close", 101)]
    closed = next(line for line in access if line.get("event") == "close")
    assert closed["code"] in (1000, 1005)
    # No query strings, tokens or bodies anywhere in the log.
    assert secret not in output and session["token"] not in output
    assert site["site_key"] not in output


def test_warning_level_silences_request_lines(tmp_path: Path) -> None:
    server = start_server(tmp_path / "quiet.db", env={"SAPA_LOG_LEVEL": "warning"})
    try:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.process.terminate()
        server.process.wait(timeout(10))
        assert server.process.stdout is not None
        output = server.process.stdout.read()
        server.stop()
    assert "/healthz" not in output


def test_site_list_shows_id_name_key_and_domains(tmp_path: Path) -> None:
    db = tmp_path / "sites.db"
    first = _site(db)
    listed = json.loads(sapa(db, "site", "list", "--json").stdout)
    assert listed == [
        {
            "site_id": first["site_id"],
            "name": "Toko Log",
            "site_key": first["site_key"],
            "domains": ["127.0.0.1"],
        }
    ]
    text = sapa(db, "site", "list").stdout
    assert first["site_id"] in text and first["site_key"] in text and "Toko Log" in text
