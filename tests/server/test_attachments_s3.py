"""Files in an S3-compatible bucket: a real S3 server (moto's, in its own process)."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.conftest import free_port, timeout
from tests.server.conftest import Env, SiteFixture, env_with
from tests.server.test_attachments import (
    PDF,
    files_on_disk,
    png,
    send_files,
    shopper,
    uploaded,
)
from tests.server.test_crm import api

BUCKET = "sapa-files"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout(30)
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout(10))


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def bucket_keys(endpoint: str) -> list[str]:
    listed = s3_client(endpoint).list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
async def s3_env(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]], s3_endpoint: str
) -> AsyncIterator[Env]:
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    storage = f"s3://test:test@{BUCKET}/shop?endpoint={s3_endpoint}&region=us-east-1"
    async for environment in env_with(tmp_path, seeded_db, files_storage=storage):
        yield environment
    for key in bucket_keys(s3_endpoint):
        client.delete_object(Bucket=BUCKET, Key=key)
    client.delete_bucket(Bucket=BUCKET)


async def test_files_live_in_the_bucket_are_served_exported_and_erased(
    s3_env: Env, s3_endpoint: str
) -> None:
    env = s3_env
    assert env.http is not None
    client, token = await shopper(env)
    photo = await uploaded(env, token, png(900, 600), "parcel.png")
    pdf = await uploaded(env, token, PDF, "receipt.pdf")
    ack = await send_files(client, "s1", [photo["id"], pdf["id"]], "see")
    keys = bucket_keys(s3_endpoint)
    assert len(keys) == 3 and all(k.startswith("shop/") for k in keys), keys
    assert files_on_disk(env) == [], "nothing stays on the server's disk"
    shown: list[dict[str, Any]] = ack["message"]["attachments"]
    full = await env.http.get(shown[0]["url"])
    assert full.status_code == 200 and full.headers["content-type"] == "image/png"
    assert (await env.http.get(shown[0]["thumb_url"])).status_code == 200
    got = await env.http.get(shown[1]["url"])
    assert got.content == PDF and got.headers["content-disposition"].startswith("attachment")

    customer_id = ack["message"]["author"]["id"]
    exported = await env.http.get(
        f"/api/v1/customers/{customer_id}/export", params={"format": "zip"}, headers=api(env)
    )
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert archive.read(f"files/{pdf['id']}-receipt.pdf") == PDF
    erased = await env.http.delete(f"/api/v1/customers/{customer_id}", headers=api(env))
    assert erased.status_code == 200
    assert bucket_keys(s3_endpoint) == []
    assert (await env.http.get(shown[1]["url"])).status_code == 404
