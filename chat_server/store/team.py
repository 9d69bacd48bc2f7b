"""A site's team: invitation and password-reset links, and the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx


@dataclass(frozen=True, slots=True)
class AgentLink:
    """An invitation (kind "invite") or a password-reset link (kind "reset")."""

    id: str
    site_id: str
    kind: str
    email: str
    role: str
    agent_id: str | None
    secret_hash: str
    created_at: str
    expires_at: str
    used_at: str | None
    revoked_at: str | None
    totp_pending: str | None = None  # two-factor being set up by the invitee

    def to_json(self) -> dict[str, Any]:
        return {
            "invitation_id": self.id,
            "email": self.email,
            "role": self.role,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }


def _link(row: Row) -> AgentLink:
    return AgentLink(
        row["id"],
        row["site_id"],
        row["kind"],
        row["email"],
        row["role"],
        row["agent_id"],
        row["secret_hash"],
        row["created_at"],
        row["expires_at"],
        row["used_at"],
        row["revoked_at"],
        row["totp_pending"],
    )


def insert_link(conn: Tx, link: AgentLink, created_by: str | None) -> None:
    conn.execute(
        "INSERT INTO agent_links (id, site_id, kind, email, role, agent_id, secret_hash,"
        " created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            link.id,
            link.site_id,
            link.kind,
            link.email,
            link.role,
            link.agent_id,
            link.secret_hash,
            created_by,
            link.created_at,
            link.expires_at,
        ),
    )


def load_link(conn: Tx, link_id: str) -> AgentLink | None:
    row = conn.execute("SELECT * FROM agent_links WHERE id = ?", (link_id,)).fetchone()
    return _link(row) if row else None


async def get_link(db: Database, link_id: str) -> AgentLink | None:
    row = await db.fetch_one("SELECT * FROM agent_links WHERE id = ?", (link_id,))
    return _link(row) if row else None


def renew_link(conn: Tx, link_id: str, secret_hash: str, created_at: str, expires_at: str) -> None:
    """A resent link: a new secret (the old link stops working) and a new expiry."""
    conn.execute(
        "UPDATE agent_links SET secret_hash = ?, created_at = ?, expires_at = ? WHERE id = ?",
        (secret_hash, created_at, expires_at, link_id),
    )


def use_link(conn: Tx, link_id: str, now: str) -> bool:
    """Mark a link used; false when it was used or revoked meanwhile (single use)."""
    cursor = conn.execute(
        "UPDATE agent_links SET used_at = ?"
        " WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
        (now, link_id),
    )
    return cursor.rowcount == 1


def set_link_totp(conn: Tx, link_id: str, secret: str) -> bool:
    """The secret an invitee is setting up; false when the link was used or revoked."""
    cursor = conn.execute(
        "UPDATE agent_links SET totp_pending = ?"
        " WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
        (secret, link_id),
    )
    return cursor.rowcount == 1


def revoke_link(conn: Tx, link_id: str, now: str) -> None:
    conn.execute(
        "UPDATE agent_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (now, link_id),
    )


def revoke_open_links(conn: Tx, site_id: str, kind: str, email: str, now: str) -> None:
    """Earlier open links of the same kind for the same address stop working."""
    conn.execute(
        "UPDATE agent_links SET revoked_at = ? WHERE site_id = ? AND kind = ? AND email = ?"
        " AND used_at IS NULL AND revoked_at IS NULL",
        (now, site_id, kind, email),
    )


async def open_invitations(db: Database, site_id: str, now: str) -> list[AgentLink]:
    rows = await db.fetch_all(
        "SELECT * FROM agent_links WHERE site_id = ? AND kind = 'invite' AND used_at IS NULL"
        " AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC",
        (site_id, now),
    )
    return [_link(r) for r in rows]


def email_taken(conn: Tx, email: str) -> bool:
    row = conn.execute("SELECT 1 AS one FROM agents WHERE email = ?", (email,)).fetchone()
    return row is not None


def count_active_owners(conn: Tx, site_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM agents WHERE site_id = ? AND role = 'owner' AND active = 1",
        (site_id,),
    ).fetchone()
    return int(row["n"]) if row else 0


def update_agent(conn: Tx, agent_id: str, name: str, role: str) -> None:
    conn.execute("UPDATE agents SET name = ?, role = ? WHERE id = ?", (name, role, agent_id))


def set_locale(conn: Tx, agent_id: str, locale: str | None) -> None:
    conn.execute("UPDATE agents SET locale = ? WHERE id = ?", (locale, agent_id))


# -- the audit log ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    actor_id: str | None
    actor_name: str
    action: str
    target: str | None
    address: str | None
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.seq,
            "at": self.at,
            "actor": {"id": self.actor_id, "name": self.actor_name},
            "action": self.action,
            "target": self.target,
            "address": self.address,
            "detail": self.detail,
        }


def insert_audit(
    conn: Tx,
    site_id: str,
    at: str,
    actor_id: str | None,
    actor_name: str,
    action: str,
    target: str | None,
    address: str | None,
    detail: dict[str, Any],
) -> None:
    conn.execute(
        "INSERT INTO audit_log (site_id, at, actor_id, actor_name, action, target, address,"
        " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (site_id, at, actor_id, actor_name, action, target, address, json.dumps(detail)),
    )


def forget_audit_before(conn: Tx, site_id: str, before: str) -> int:
    cursor = conn.execute("DELETE FROM audit_log WHERE site_id = ? AND at < ?", (site_id, before))
    return cursor.rowcount


def audit_retention(conn: Tx, site_id: str) -> int:
    row = conn.execute("SELECT audit_retention_days FROM sites WHERE id = ?", (site_id,)).fetchone()
    return int(row["audit_retention_days"]) if row else 365


async def get_audit_retention(db: Database, site_id: str) -> int:
    row = await db.fetch_one("SELECT audit_retention_days FROM sites WHERE id = ?", (site_id,))
    return int(row["audit_retention_days"]) if row else 365


def set_audit_retention(conn: Tx, site_id: str, days: int) -> None:
    conn.execute("UPDATE sites SET audit_retention_days = ? WHERE id = ?", (days, site_id))


async def audit_entries(
    db: Database,
    site_id: str,
    since: str | None,
    until: str | None,
    actor: str | None,
    action: str | None,
    before_seq: int | None,
    limit: int,
) -> list[AuditEntry]:
    """Newest first; `before_seq` pages further back."""
    where = ["site_id = ?"]
    params: list[Any] = [site_id]
    for clause, value in (
        ("at >= ?", since),
        ("at < ?", until),
        ("actor_id = ?", actor),
        ("action = ?", action),
        ("seq < ?", before_seq),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    rows = await db.fetch_all(
        f"SELECT * FROM audit_log WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?",
        (*params, limit),
    )
    return [
        AuditEntry(
            r["seq"],
            r["at"],
            r["actor_id"],
            r["actor_name"],
            r["action"],
            r["target"],
            r["address"],
            json.loads(r["detail"]),
        )
        for r in rows
    ]


# -- two-factor sign-in ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TotpState:
    secret: str | None
    pending: str | None
    last_step: int


async def get_totp(db: Database, agent_id: str) -> TotpState:
    row = await db.fetch_one(
        "SELECT totp_secret, totp_pending, totp_last_step FROM agents WHERE id = ?", (agent_id,)
    )
    if row is None:
        return TotpState(None, None, 0)
    return TotpState(row["totp_secret"], row["totp_pending"], int(row["totp_last_step"]))


def set_totp_pending(conn: Tx, agent_id: str, secret: str) -> None:
    conn.execute("UPDATE agents SET totp_pending = ? WHERE id = ?", (secret, agent_id))


def enable_totp(conn: Tx, agent_id: str, secret: str, step: int, code_hashes: list[str]) -> bool:
    """Turn on the pending secret (false when another setup replaced it meanwhile)."""
    cursor = conn.execute(
        "UPDATE agents SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = ?"
        " WHERE id = ? AND totp_pending = ?",
        (step, agent_id, secret),
    )
    if cursor.rowcount != 1:
        return False
    conn.execute("DELETE FROM recovery_codes WHERE agent_id = ?", (agent_id,))
    for code_hash in code_hashes:
        conn.execute(
            "INSERT INTO recovery_codes (agent_id, code_hash) VALUES (?, ?)", (agent_id, code_hash)
        )
    return True


def disable_totp(conn: Tx, agent_id: str) -> None:
    conn.execute(
        "UPDATE agents SET totp_secret = NULL, totp_pending = NULL WHERE id = ?", (agent_id,)
    )
    conn.execute("DELETE FROM recovery_codes WHERE agent_id = ?", (agent_id,))


def take_totp_step(conn: Tx, agent_id: str, step: int) -> bool:
    """Record `step` as used; false when it (or a later one) already was: a replay."""
    cursor = conn.execute(
        "UPDATE agents SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?",
        (step, agent_id, step),
    )
    return cursor.rowcount == 1


def use_recovery_code(conn: Tx, agent_id: str, code_hash: str, now: str) -> bool:
    cursor = conn.execute(
        "UPDATE recovery_codes SET used_at = ?"
        " WHERE agent_id = ? AND code_hash = ? AND used_at IS NULL",
        (now, agent_id, code_hash),
    )
    return cursor.rowcount == 1


async def recovery_codes_left(db: Database, agent_id: str) -> int:
    row = await db.fetch_one(
        "SELECT count(*) AS n FROM recovery_codes WHERE agent_id = ? AND used_at IS NULL",
        (agent_id,),
    )
    return int(row["n"]) if row else 0


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    agent_id: str
    created_at: str
    address: str | None
    device: str


def insert_challenge(conn: Tx, challenge: Challenge, forget_before: str) -> None:
    conn.execute("DELETE FROM login_challenges WHERE created_at < ?", (forget_before,))
    conn.execute(
        "INSERT INTO login_challenges (id, agent_id, created_at, address, device)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            challenge.id,
            challenge.agent_id,
            challenge.created_at,
            challenge.address,
            challenge.device,
        ),
    )


async def get_challenge(db: Database, challenge_id: str) -> Challenge | None:
    row = await db.fetch_one("SELECT * FROM login_challenges WHERE id = ?", (challenge_id,))
    if row is None:
        return None
    return Challenge(
        row["id"], row["agent_id"], row["created_at"], row["address"], row["device"] or ""
    )


def delete_challenge(conn: Tx, challenge_id: str) -> bool:
    cursor = conn.execute("DELETE FROM login_challenges WHERE id = ?", (challenge_id,))
    return cursor.rowcount == 1


async def requires_2fa(db: Database, site_id: str) -> bool:
    row = await db.fetch_one("SELECT require_2fa FROM sites WHERE id = ?", (site_id,))
    return bool(row["require_2fa"]) if row else False


def set_requires_2fa(conn: Tx, site_id: str, required: bool) -> None:
    conn.execute("UPDATE sites SET require_2fa = ? WHERE id = ?", (int(required), site_id))
