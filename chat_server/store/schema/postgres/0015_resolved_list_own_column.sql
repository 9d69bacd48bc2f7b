-- A message's room update is a HOT update again (SQLite's 0024 says why): the resolved
-- list's index names a generated column, NULL unless the conversation is resolved, instead
-- of `updated_at`. Adding a stored column rewrites `rooms` once (a row per conversation).
ALTER TABLE rooms ADD COLUMN resolved_updated_at TEXT
    GENERATED ALWAYS AS (CASE WHEN status = 'resolved' THEN updated_at END) STORED;
DROP INDEX rooms_site_resolved;
CREATE INDEX rooms_site_resolved ON rooms(site_id, kind, resolved_updated_at)
    WHERE status = 'resolved';
