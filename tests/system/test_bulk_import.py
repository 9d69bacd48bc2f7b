"""A big `sapa import` in another process while the server acknowledges chat messages."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.conftest import start_server, timeout
from tests.server.conftest import WsClient

ROWS = 6_000


def create_site(db: Path, name: str, domain: str) -> dict[str, str]:
    command = ["site", "create", name, "--domain", domain, "--json", "--db", str(db)]
    out = subprocess.run(
        [sys.executable, "-m", "chat_server", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


async def test_an_import_in_another_process_fails_no_chat_message(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    chatting = create_site(db, "Toko Ngobrol", "ngobrol.test")
    importing = create_site(db, "Toko Impor", "impor.test")
    big = tmp_path / "customers.csv"
    big.write_text(
        "external_id,name,email,tags,city\n"
        + "".join(f"c{i},Pelanggan {i},p{i}@contoh.id,a|b,Kota {i % 40}\n" for i in range(ROWS)),
        encoding="utf-8",
    )
    server = start_server(db)
    try:
        origin = "https://ngobrol.test"
        async with httpx.AsyncClient(base_url=server.url) as http:
            session = await http.post(
                "/api/widget/session",
                json={"site_key": chatting["site_key"]},
                headers={"origin": origin},
            )
        ws = await websockets.connect(
            server.url.replace("http://", "ws://") + "/ws/widget",
            origin=origin,  # type: ignore[arg-type]
        )
        widget = WsClient(ws)
        await ws.send(json.dumps({"type": "hello", "token": session.json()["token"]}))
        await widget.event("welcome")
        importer = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "chat_server", "import", "customers", str(big)),
            *("--site", importing["site_id"], "--db", str(db)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        answers: list[dict[str, Any]] = []
        done = asyncio.ensure_future(importer.communicate())
        while not done.done():
            n = len(answers)
            # The socket allows 20 frames a second: stay under it.
            answers.append(
                await widget.request("send", wait=30, client_msg_id=f"m{n}", body=f"halo {n}")
            )
            await asyncio.sleep(0.06)
        _, err = await asyncio.wait_for(done, timeout(120))
        await ws.close()
        assert importer.returncode == 0, err.decode()
        assert f"imported {ROWS} customers" in err.decode()
        assert len(answers) >= 5
        assert [a["type"] for a in answers] == ["ack"] * len(answers), [
            a for a in answers if a["type"] != "ack"
        ]
        server.process.terminate()
        server.process.wait(timeout(10))
        assert server.process.stdout is not None
        assert "write batch failed" not in server.process.stdout.read()
    finally:
        server.stop()
