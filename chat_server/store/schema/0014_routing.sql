-- Routing: a site's assignment mode and default cap, each agent's own cap and when they
-- were last given a conversation (round robin), and each conversation's place in the
-- queue (a per-site counter, so arrival order is the order of commits) and when it was
-- queued and assigned (the wait estimate).
ALTER TABLE sites ADD COLUMN routing_mode TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE sites ADD COLUMN routing_cap INTEGER NOT NULL DEFAULT 3;
ALTER TABLE sites ADD COLUMN queue_counter INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN queue_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN cap INTEGER;
ALTER TABLE agents ADD COLUMN last_assigned_at TEXT;
ALTER TABLE rooms ADD COLUMN queue_seq INTEGER;
ALTER TABLE rooms ADD COLUMN queued_at TEXT;
ALTER TABLE rooms ADD COLUMN assigned_at TEXT;
UPDATE rooms SET queued_at = created_at,
    queue_seq = (SELECT count(*) FROM rooms o WHERE o.site_id = rooms.site_id
                 AND o.kind = 'private' AND (o.created_at < rooms.created_at
                 OR (o.created_at = rooms.created_at AND o.id <= rooms.id)))
    WHERE kind = 'private';
UPDATE sites SET queue_counter = (SELECT count(*) FROM rooms r
    WHERE r.site_id = sites.id AND r.kind = 'private');
CREATE INDEX rooms_queue ON rooms(site_id, queue_seq)
    WHERE kind = 'private' AND status = 'queued' AND assignee_id IS NULL;
CREATE INDEX rooms_assignee_open ON rooms(assignee_id, status);
CREATE INDEX rooms_assigned_at ON rooms(site_id, assigned_at) WHERE assigned_at IS NOT NULL;
-- Canned responses: the site's (owner_key '') and each agent's personal ones (owner_key:
-- the agent's id), a shortcut unique within each.
CREATE TABLE canned_responses (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    owner_key TEXT NOT NULL,
    shortcut TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (site_id, owner_key, shortcut)
);
-- Search: an FTS5 index over message bodies (external content: the text stays in
-- `messages`), kept by triggers, so every way a body changes (a send, an erase that
-- blanks it, a copy) keeps the index true. store/search.py queries it.
CREATE VIRTUAL TABLE message_search USING fts5(
    body, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
INSERT INTO message_search(message_search) VALUES ('rebuild');
CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search(rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER message_search_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO message_search(rowid, body) VALUES (new.rowid, new.body);
END;
