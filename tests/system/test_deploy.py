"""The deployment files: compose on PostgreSQL + Redis + replicas + nginx, and nginx's rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_runs_replicas_on_postgresql_and_redis_behind_nginx() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "app", "nginx"}
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
    assert all(c["condition"] == "service_healthy" for c in app["depends_on"].values())
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
