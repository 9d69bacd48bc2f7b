-- PostgreSQL updates a row in place (a HOT update: no new entry in any of the table's
-- indexes) only when no column an index names changes, a partial index's key included
-- even for rows its predicate leaves out. 0023's `rooms_site_resolved` named `updated_at`,
-- which every message changes: each message's room update then added an entry to every
-- one of `rooms`' ten indexes (bench/README.md, "Session 13"). The resolved list is now
-- ordered by a generated column that is `updated_at` for a resolved conversation and NULL
-- for any other, so a message to an open one changes no indexed value. SQLite takes the
-- same column (virtual: no table rewrite) so that one query serves both.
ALTER TABLE rooms ADD COLUMN resolved_updated_at TEXT
    GENERATED ALWAYS AS (CASE WHEN status = 'resolved' THEN updated_at END) VIRTUAL;
DROP INDEX rooms_site_resolved;
CREATE INDEX rooms_site_resolved ON rooms(site_id, kind, resolved_updated_at)
    WHERE status = 'resolved';
