-- Departed agents are deactivated, not deleted: their name stays on old messages.
ALTER TABLE agents ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN last_seen_at TEXT;
-- Sessions expire after an idle time and an absolute lifetime; NULL means "never used since
-- it was created" (rows from before this migration).
ALTER TABLE console_sessions ADD COLUMN last_used_at TEXT;
CREATE INDEX console_sessions_agent ON console_sessions(agent_id);
-- Account changes made outside the server (the `sapa agent` CLI) that must close sockets:
-- every process polls this outbox and closes the agent's sockets it holds.
CREATE TABLE account_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    close_code INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
