"""What the bad-input and fuzz tests share: every JSON route, and a watch on the server's log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.server.conftest import Env


@dataclass(frozen=True)
class JsonRoute:
    method: str
    path: str
    # "none", "console" (the console's own origin, no session), "widget" (a widget
    # token) or "api" (the site's API token)
    caller: str


# Every route that reads a JSON body. Most read the body before looking the id up;
# "$CUSTOMER" stands for a customer that exists (see `known_customer`).
JSON_ROUTES = [
    JsonRoute("POST", "/api/widget/session", "none"),
    JsonRoute("POST", "/api/widget/identify", "widget"),
    JsonRoute("POST", "/api/widget/prechat", "widget"),
    JsonRoute("POST", "/api/v1/auth/login", "console"),
    JsonRoute("POST", "/api/v1/faq", "api"),
    JsonRoute("PUT", "/api/v1/faq/f_missing", "api"),
    JsonRoute("POST", "/api/v1/faq/reorder", "api"),
    JsonRoute("POST", "/api/v1/faq/import?format=json", "api"),
    JsonRoute("POST", "/api/v1/faq/f_missing/phrasings", "api"),
    JsonRoute("PUT", "/api/v1/customers/by-external-id/x1", "api"),
    JsonRoute("POST", "/api/v1/customers/by-external-id/x1/orders", "api"),
    JsonRoute("PATCH", "/api/v1/customers/$CUSTOMER", "api"),
    JsonRoute("POST", "/api/v1/customers/$CUSTOMER/notes", "api"),
    JsonRoute("PUT", "/api/v1/site", "api"),
    JsonRoute("POST", "/api/v1/rooms", "api"),
    JsonRoute("PATCH", "/api/v1/rooms/r_missing", "api"),
]


async def caller_headers(env: Env, caller: str, site: str = "a") -> dict[str, str]:
    origin = env.url if caller == "console" else env.sites[site].origin
    headers = {"content-type": "application/json", "origin": origin}
    if caller == "api":
        headers["authorization"] = f"Bearer {env.sites[site].creds.api_token}"
    elif caller == "widget":
        session = await env.widget_session(site)
        headers["authorization"] = f"Bearer {session['token']}"
    return headers


async def known_customer(env: Env, site: str = "a") -> str:
    """The id of a customer of `site`, made through the API."""
    assert env.http is not None
    response = await env.http.put(
        "/api/v1/customers/by-external-id/fixture-1",
        json={"name": "Fixture"},
        headers={"authorization": f"Bearer {env.sites[site].creds.api_token}"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


class LogWatch(logging.Handler):
    """Records the server logs at WARNING and above, uvicorn's own included."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        """Errors and tracebacks logged since the last call (so each check sees its own)."""
        found = [
            f"{r.name}: {r.getMessage()}"
            for r in self.records
            if r.exc_info is not None or r.levelno >= logging.ERROR
        ]
        self.records.clear()
        return found


@contextmanager
def watch_log() -> Iterator[LogWatch]:
    watch = LogWatch()
    # uvicorn's loggers do not propagate to the root logger.
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(watch)
    try:
        yield watch
    finally:
        for logger in loggers:
            logger.removeHandler(watch)
