-- System lines carry their data (key, agent) beside the rendered body, so every client
-- renders them in its own language; last widget connection per allowed domain (Settings).
ALTER TABLE messages ADD COLUMN event TEXT;
CREATE TABLE site_origins (
    site_id TEXT NOT NULL REFERENCES sites(id),
    origin TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (site_id, origin)
);
-- Customers a shop pushed in (REST, imports) who never opened the widget were never
-- seen: '' marks "never" (the column is NOT NULL; '' sorts after every real time).
UPDATE customers SET last_seen_at = '' WHERE external_id IS NOT NULL
    AND last_seen_at = created_at
    AND NOT EXISTS (SELECT 1 FROM widget_tokens w WHERE w.customer_id = customers.id);
-- System lines stored before: their data, read back once from the two languages' wording
-- (the agent's id was not kept then, so it is null).
UPDATE messages SET event = '{"key": "reopened_by_customer"}' WHERE kind = 'event'
    AND author_kind = 'system' AND body IN ('Reopened by customer', 'Dibuka kembali oleh pelanggan');
UPDATE messages SET event = '{"key": "unassigned"}' WHERE kind = 'event'
    AND author_kind = 'system' AND body IN ('Unassigned', 'Dikembalikan ke antrean');
UPDATE messages SET event = json_object('key', 'assigned', 'agent', json_object('id', NULL, 'name',
    CASE WHEN body LIKE 'Assigned to %' THEN substr(body, 13) ELSE substr(body, 16) END))
    WHERE kind = 'event' AND author_kind = 'system' AND event IS NULL
    AND (body LIKE 'Assigned to %' OR body LIKE 'Ditangani oleh %');
UPDATE messages SET event = json_object('key', 'resolved', 'agent', json_object('id', NULL, 'name',
    CASE WHEN body LIKE 'Resolved by %' THEN substr(body, 13) ELSE substr(body, 19) END))
    WHERE kind = 'event' AND author_kind = 'system' AND event IS NULL
    AND (body LIKE 'Resolved by %' OR body LIKE 'Diselesaikan oleh %');
UPDATE messages SET event = json_object('key', 'reopened', 'agent', json_object('id', NULL, 'name',
    CASE WHEN body LIKE 'Reopened by %' THEN substr(body, 13) ELSE substr(body, 21) END))
    WHERE kind = 'event' AND author_kind = 'system' AND event IS NULL
    AND (body LIKE 'Reopened by %' OR body LIKE 'Dibuka kembali oleh %');
-- The console's transcript shows a conversation's FAQ cards and ratings.
CREATE INDEX IF NOT EXISTS faq_events_room ON faq_events(room_id, created_at);
CREATE INDEX IF NOT EXISTS ratings_room ON ratings(room_id, created_at);
