-- Every message changes its room's `updated_at` and moved its `rooms_site` entry: the
-- index keeps status order only, and resolved conversations (which take no messages) keep
-- one in activity order (SQLite's 0023 says why).
DROP INDEX rooms_site;
CREATE INDEX rooms_site ON rooms(site_id, kind, status);
CREATE INDEX rooms_site_resolved ON rooms(site_id, kind, updated_at) WHERE status = 'resolved';
