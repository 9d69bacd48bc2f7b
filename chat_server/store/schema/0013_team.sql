-- Team administration and account security (issue 13).
-- Invitations and password-reset links: the link carries a random secret, the row only its
-- SHA-256, so a copy of the database cannot be turned into working links.
CREATE TABLE agent_links (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    kind TEXT NOT NULL CHECK (kind IN ('invite', 'reset')),
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'owner')),
    agent_id TEXT REFERENCES agents(id),
    secret_hash TEXT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX agent_links_site ON agent_links(site_id, kind, created_at);
-- The console's language per agent; NULL follows the browser.
ALTER TABLE agents ADD COLUMN locale TEXT;
-- Where a session was started from, for the account page's list of sessions.
ALTER TABLE console_sessions ADD COLUMN device TEXT;
ALTER TABLE console_sessions ADD COLUMN address TEXT;
-- Append-only: the server only inserts, and deletes rows past the site's retention.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    address TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_site ON audit_log(site_id, at);
ALTER TABLE sites ADD COLUMN audit_retention_days INTEGER NOT NULL DEFAULT 365;
-- Two-factor sign-in (TOTP, RFC 6238): the secret, one being set up, and the last time step
-- a code was accepted for (a code is never accepted twice, nor an older one).
ALTER TABLE agents ADD COLUMN totp_secret TEXT;
ALTER TABLE agents ADD COLUMN totp_pending TEXT;
ALTER TABLE agents ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
CREATE TABLE recovery_codes (
    agent_id TEXT NOT NULL REFERENCES agents(id),
    code_hash TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (agent_id, code_hash)
);
-- A right password for an account with two-factor: the code must follow within minutes.
CREATE TABLE login_challenges (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    created_at TEXT NOT NULL,
    address TEXT,
    device TEXT
);
ALTER TABLE sites ADD COLUMN require_2fa INTEGER NOT NULL DEFAULT 0;
