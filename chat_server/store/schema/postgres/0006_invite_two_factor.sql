-- SQLite migration 0015_invite_two_factor for PostgreSQL (see that file for the why).
ALTER TABLE agent_links ADD COLUMN totp_pending TEXT;
