"""Moving files with an installation: `sapa db copy --files-from/--files-to` and `sapa files
copy`, local directory to local directory, to an S3 bucket (moto's server) and back.

Each copy is served by a real server and every attachment is fetched through its link: a
copy that leaves a blob behind fails here.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server.conftest import Env, SiteFixture, seed
from tests.server.test_attachments import PDF, png
from tests.server.test_attachments_s3 import (  # noqa: F401 (s3_endpoint: a fixture)
    BUCKET,
    bucket_keys,
    s3_client,
    s3_endpoint,
)
from tests.system.test_db_copy import sapa, serving


@dataclass
class Source:
    db: Path
    sites: dict[str, SiteFixture]
    token: str
    room_id: str
    files: dict[str, bytes]  # attachment id -> the bytes its link served on the source


async def served_files(env: Env, token: str, room_id: str) -> dict[str, bytes]:
    """Every file (and thumbnail) of the conversation, fetched through the links `sync` gives."""
    assert env.http is not None
    client, _ = await env.widget("a", token=token)
    history = await client.request("sync", room_id=room_id, after_seq=0)
    await client.close()
    out: dict[str, bytes] = {}
    for message in history["messages"]:
        for attachment in message.get("attachments", []):
            for key in ("url", "thumb_url"):
                if key not in attachment:
                    continue
                answer = await env.http.get(attachment[key])
                assert answer.status_code == 200, (key, attachment["name"], answer.text)
                out[f"{attachment['id']} {key}"] = answer.content
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    """An installation whose shopper sent a photo (with its thumbnail) and a PDF."""
    return asyncio.run(build_source(tmp_path_factory.mktemp("source") / "sapa.db"))


async def build_source(db: Path) -> Source:
    sites = await seed(str(db))
    async with serving(str(db), sites) as env:
        assert env.http is not None
        client, session = await env.widget("a")
        token = session["token"]
        ids = []
        for name, data in (("parcel.png", png(900, 600)), ("receipt.pdf", PDF)):
            answer = await env.http.post(
                "/api/widget/uploads",
                files={"file": (name, data, "application/octet-stream")},
                headers={"authorization": f"Bearer {token}", "origin": sites["a"].origin},
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["attachment"]["id"])
        ack = await client.request("send", client_msg_id="f1", body="lihat", attachments=ids)
        assert ack["type"] == "ack", ack
        await client.close()
        room_id = ack["message"]["room_id"]
        files = await served_files(env, token, room_id)
    assert len(files) == 3
    return Source(db, sites, token, room_id, files)


def fresh_copy(source: Source, into: Path) -> Path:
    """The source database alone, copied (the copy may migrate it; other tests share it)."""
    into.mkdir()
    path = into / "source.db"
    with sqlite3.connect(source.db) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    return path


def s3_url(endpoint: str, prefix: str) -> str:
    return f"s3://test:test@{BUCKET}/{prefix}?endpoint={endpoint}&region=us-east-1"


async def test_files_move_with_the_database_and_on_to_s3_and_back(
    source: Source,
    tmp_path: Path,
    s3_endpoint: str,  # noqa: F811
) -> None:
    # SQLite to SQLite, files with it: the target's files land where its server looks.
    db = fresh_copy(source, tmp_path / "src")
    target = tmp_path / "dst" / "sapa.db"
    target.parent.mkdir()
    done = sapa(
        "db", "copy", "--from", str(db), "--to", str(target),
        "--files-from", str(source.db.parent / "files"), "--files-to", str(target.parent / "files"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "files: 3 copied, 0 already there, 0 missing, 0 corrupt" in done.stderr
    async with serving(str(target), source.sites) as env:
        assert await served_files(env, source.token, source.room_id) == source.files

    # Local directory to a bucket: the copy serves from the bucket alone.
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    try:
        bucket = s3_url(s3_endpoint, "copied")
        up = sapa("files", "copy", "--db", str(target), "--from", str(target.parent / "files"),
                  "--to", bucket)  # fmt: skip
        assert up.returncode == 0, up.stderr
        assert len(bucket_keys(s3_endpoint)) == 3
        empty = tmp_path / "unused-files"
        async with serving(
            str(target), source.sites, files_storage=bucket, files_dir=str(empty)
        ) as env:
            assert await served_files(env, source.token, source.room_id) == source.files
        # Run again (an interrupted copy is simply repeated): nothing is copied twice.
        again = sapa("files", "copy", "--db", str(target), "--from", str(target.parent / "files"),
                     "--to", bucket)  # fmt: skip
        assert "files: 0 copied, 3 already there" in again.stderr, again.stderr

        # And back from the bucket to a directory.
        back = tmp_path / "back"
        down = sapa("files", "copy", "--db", str(target), "--from", bucket, "--to", str(back))
        assert down.returncode == 0, down.stderr
        async with serving(str(target), source.sites, files_dir=str(back)) as env:
            assert await served_files(env, source.token, source.room_id) == source.files
    finally:
        for key in bucket_keys(s3_endpoint):
            client.delete_object(Bucket=BUCKET, Key=key)
        client.delete_bucket(Bucket=BUCKET)


def test_a_blob_missing_or_changed_in_the_source_fails_the_copy(
    source: Source, tmp_path: Path
) -> None:
    files = tmp_path / "files"
    shutil.copytree(source.db.parent / "files", files, ignore=shutil.ignore_patterns(".incoming"))
    kept = sorted(p for p in files.rglob("*") if p.is_file())
    kept[0].unlink()
    kept[1].write_bytes(b"not what was uploaded")
    done = sapa("files", "copy", "--db", str(source.db), "--from", str(files),
                "--to", str(tmp_path / "copy"))  # fmt: skip
    assert done.returncode == 1
    assert f"MISSING in {files}: {kept[0].relative_to(files).as_posix()}" in done.stderr
    assert f"CORRUPT in {files} (bytes do not match the key): " in done.stderr
    assert "files: 1 copied, 0 already there, 1 missing, 1 corrupt" in done.stderr


def test_a_database_copy_without_files_says_they_were_left_behind(
    source: Source, tmp_path: Path
) -> None:
    db = fresh_copy(source, tmp_path / "src")
    shutil.copytree(source.db.parent / "files", db.parent / "files")
    done = sapa("db", "copy", "--from", str(db), "--to", str(tmp_path / "copy.db"))
    assert done.returncode == 0, done.stderr
    assert f"the files in {db.parent / 'files'} were not copied" in done.stderr
    half = sapa("db", "copy", "--from", str(db), "--to", str(tmp_path / "other.db"),
                "--files-from", str(db.parent / "files"))  # fmt: skip
    assert half.returncode == 2 and "give both --files-from and --files-to" in half.stderr
