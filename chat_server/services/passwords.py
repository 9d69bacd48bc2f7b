"""The password rule with the shipped list of common passwords (chat_server/data)."""

from __future__ import annotations

import functools
from importlib import resources

from chat_server.domain.accounts import check_new_password


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("chat_server").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_new(password: str) -> None:
    """Raise bad_request unless `password` may be set as a new password."""
    check_new_password(password, common_passwords())
