-- The search index is fed once per write transaction instead of once per inserted row: a
-- trigger per row cost the writer more than one INSERT ... SELECT of the batch's new rows
-- (about a quarter of its CPU per message: bench/README.md, "Search indexed per batch").
-- The writer runs that flush just before every COMMIT (store/search.py
-- `index_new_messages`), so a committed message is always searchable, as before.
--
-- `search_watermark.indexed_rowid`: every message at or under it is in `message_search`,
-- none above it. Under the old insert trigger every message was indexed.
CREATE TABLE search_watermark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_rowid INTEGER NOT NULL
);
INSERT INTO search_watermark (id, indexed_rowid)
    VALUES (1, (SELECT coalesce(max(rowid), 0) FROM messages));
DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_delete;
DROP TRIGGER message_search_update;
-- A row above the watermark was never indexed: telling FTS5 to 'delete' it would corrupt
-- the index. A deleted row can also lower `max(rowid)` below the watermark, and SQLite
-- hands the next insert max(rowid) + 1: the watermark comes down with it (in the same
-- trigger, after the 'delete' that read it), or that row would never be indexed.
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_search(message_search, rowid, body)
        SELECT 'delete', old.rowid, old.body
        WHERE old.rowid <= (SELECT indexed_rowid FROM search_watermark WHERE id = 1);
    UPDATE search_watermark SET indexed_rowid = (SELECT coalesce(max(rowid), 0) FROM messages)
        WHERE id = 1 AND indexed_rowid > (SELECT coalesce(max(rowid), 0) FROM messages);
END;
-- A changed body above the watermark is indexed with its new text by the flush.
CREATE TRIGGER message_search_update AFTER UPDATE OF body ON messages
WHEN old.rowid <= (SELECT indexed_rowid FROM search_watermark WHERE id = 1) BEGIN
    INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO message_search(rowid, body) VALUES (new.rowid, new.body);
END;
