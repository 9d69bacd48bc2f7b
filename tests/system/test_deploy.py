"""The deployment files: compose on PostgreSQL + Redis + replicas + nginx, and nginx's rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from chat_server.domain.attachments import DEFAULT_MAX_BYTES
from chat_server.services.file_storage import S3Storage, open_storage
from chat_server.web.uploads import ENVELOPE, UPLOAD_PATHS
from tests.conftest import ServerProcess, free_port, start_server, timeout
from tests.system.test_cli import sapa

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_runs_replicas_on_postgresql_and_redis_behind_nginx() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "minio", "minio-init", "app", "nginx"}
    app = services["app"]
    env = app["environment"]
    assert env["SAPA_DB"].startswith("postgresql://sapa:${SAPA_PG_PASSWORD:?")
    assert env["SAPA_DB"].endswith("@postgres:5432/sapa")
    assert env["SAPA_REDIS_URL"] == "redis://redis:6379/0"
    assert app["deploy"]["replicas"] >= 2 and env["SAPA_WORKERS"] == "1"
    # Stateless replicas: no volume of their own, none shared (no SQLite file anywhere).
    assert "volumes" not in app
    mounts = [str(v) for s in services.values() for v in s.get("volumes", [])]
    assert not [m for m in mounts if ":/data" in m or ".db" in m], mounts
    assert {"postgres", "redis"} <= set(app["depends_on"])
    assert all(
        app["depends_on"][s]["condition"] == "service_healthy" for s in ("postgres", "redis")
    )
    assert "/readyz" in " ".join(app["healthcheck"]["test"])
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]
    assert services["postgres"]["volumes"] == ["pg-data:/var/lib/postgresql/data"]


def test_every_replica_fits_in_postgresqls_connections() -> None:
    services = compose()["services"]
    command = services["postgres"]["command"]
    settings = dict(c.split("=", 1) for c in command if "=" in c)
    replicas = services["app"]["deploy"]["replicas"]
    pool = int(services["app"]["environment"]["SAPA_DB_POOL"])
    # Each replica: its read pool plus one writer; PostgreSQL keeps 3 for superusers.
    assert replicas * (pool + 1) <= int(settings["max_connections"]) - 3
    assert "fsync=off" not in command and "synchronous_commit=off" not in command


def test_nginx_upgrades_websockets_without_stickiness_and_passes_readyz() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    assert "proxy_set_header Upgrade $http_upgrade;" in code
    assert "proxy_set_header Connection $connection_upgrade;" in code
    assert re.search(r"server app:8000 resolve max_fails=\d+ fail_timeout=\d+s;", code)
    assert not re.search(r"\b(ip_hash|sticky|hash)\b", code)
    readyz = code.split("location = /readyz {", 1)[1].split("}", 1)[0]
    assert "proxy_next_upstream off;" in readyz
    assert code.count("{") == code.count("}")


def nginx_code() -> str:
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    return "\n".join(line.split("#", 1)[0] for line in conf.splitlines())


def test_every_replica_keeps_files_in_the_minio_bucket_made_at_start(tmp_path: Path) -> None:
    services = compose()["services"]
    app, minio, init = services["app"], services["minio"], services["minio-init"]
    env = app["environment"]
    # The replicas' storage URL names the bucket minio-init makes, on the minio service.
    storage = open_storage(env["SAPA_FILES_STORAGE"], tmp_path)
    assert isinstance(storage, S3Storage) and storage.prefix == ""
    assert storage.client.meta.endpoint_url == "http://minio:9000"
    script = init["entrypoint"][-1]
    assert f"mc mb --ignore-existing sapa/{storage.bucket}" in script
    assert "mc alias set sapa http://minio:9000" in script
    # One key pair: MinIO's root user is what the replicas sign with.
    assert env["AWS_ACCESS_KEY_ID"] == minio["environment"]["MINIO_ROOT_USER"]
    assert env["AWS_SECRET_ACCESS_KEY"] == minio["environment"]["MINIO_ROOT_PASSWORD"]
    assert init["environment"]["S3_KEY"] == env["AWS_ACCESS_KEY_ID"]
    assert env["AWS_ACCESS_KEY_ID"].startswith("${SAPA_S3_ACCESS_KEY:?")
    assert app["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    assert init["restart"] == "no"
    # The bucket's data outlives the containers; the replicas' scratch is the image's /data.
    assert minio["volumes"] == ["minio-data:/var/lib/minio"]
    assert minio["command"][-1] == "/var/lib/minio"
    assert "minio-data" in compose()["volumes"]
    assert env["SAPA_FILES_DIR"].startswith("/data/")
    assert all(p.startswith("127.0.0.1:") for p in minio.get("ports", []))
    # The image has boto3 (the `s3` extra).
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    installs = re.search(r"pip install -e '\.\[([a-z0-9,]+)\]'", dockerfile)
    assert installs is not None and "s3" in installs.group(1).split(",")


def upload_location(code: str) -> str:
    match = re.search(r"location ~ \^/api/\(widget\|v1\)/uploads\$ \{(.*?)\}", code, re.S)
    assert match is not None, "a location for the upload paths"
    for path in UPLOAD_PATHS:
        assert re.fullmatch(r"/api/(widget|v1)/uploads", path)
    return match.group(1)


def size_in_bytes(value: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024, "g": 1024**3}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


def test_nginx_takes_uploads_up_to_the_site_limit_and_streams_them() -> None:
    location = upload_location(nginx_code())
    limit = re.search(r"client_max_body_size (\w+);", location)
    assert limit is not None
    # Above a file at the default site limit in its multipart envelope, so Sapa's own clear
    # 413 answers the files just over it, and not far above (nginx's is the backstop).
    assert DEFAULT_MAX_BYTES + ENVELOPE <= size_in_bytes(limit.group(1))
    assert size_in_bytes(limit.group(1)) <= DEFAULT_MAX_BYTES + 1024 * 1024
    assert "proxy_request_buffering off;" in location
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in location


# -- the real nginx in front of a real server (where nginx is installed) ------------------


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """deploy/nginx.conf's rules before one `sapa serve`: (nginx's URL, a widget token)."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    # scripts/test installs nginx: a missing one is a failure, never a skip.
    assert binary is not None, "nginx is not installed (scripts/test installs it)"
    db = tmp_path / "sapa.db"
    site = json.loads(sapa(db, "site", "create", "Toko", "--domain", "127.0.0.1", "--json").stdout)
    server: ServerProcess = start_server(db)
    port = free_port()
    # The compose file's names and paths, made local; every rule stays as it is.
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    conf = conf.replace("server app:8000 resolve", f"server 127.0.0.1:{server.port}")
    conf = re.sub(r"resolver [^;]+;", "", conf).replace("listen 80;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("worker_processes auto;", f"worker_processes 1;\npid {tmp_path}/nginx.pid;")
    conf = conf.replace("access_log /dev/stdout;", "access_log off;")
    temp = "".join(
        f"    {kind}_temp_path {tmp_path}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", "http {\n" + temp, 1)
    (tmp_path / "nginx.conf").write_text(conf, encoding="utf-8")
    command = [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                httpx.get(url + "/healthz", timeout=timeout(1)).raise_for_status()
                break
            except httpx.HTTPError:
                assert nginx.poll() is None, nginx.stderr.read() if nginx.stderr else ""
        token = httpx.post(url + "/api/widget/session", json={"site_key": site["site_key"]}).json()[
            "token"
        ]
        yield url, token
    finally:
        nginx.terminate()
        nginx.wait(timeout(10))
        if nginx.stderr is not None:
            nginx.stderr.close()
        server.stop()


def test_through_nginx_a_file_at_the_limit_goes_and_one_over_it_is_refused_clearly(
    behind_nginx: tuple[str, str],
) -> None:
    url, token = behind_nginx
    auth = {"authorization": f"Bearer {token}"}

    def upload(size: int) -> httpx.Response:
        text = b"ongkir " * (size // 7 + 1)
        files = {"file": ("notes.txt", text[:size], "text/plain")}
        return httpx.post(url + "/api/widget/uploads", files=files, headers=auth, timeout=30)

    kept = upload(DEFAULT_MAX_BYTES)
    assert kept.status_code == 201, kept.text
    assert kept.json()["attachment"]["size"] == DEFAULT_MAX_BYTES
    # Just over the site's limit: Sapa's own answer, which says why.
    over = upload(DEFAULT_MAX_BYTES + 1)
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "too_large"
    # Other paths keep nginx's small limit.
    big_json = httpx.post(url + "/api/widget/session", content=b"x" * 600_000, headers=auth)
    assert big_json.status_code == 413
