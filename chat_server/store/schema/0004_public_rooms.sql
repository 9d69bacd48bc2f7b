-- Public rooms: order, archive, slow mode and pin; replies and moderation; mutes.
ALTER TABLE rooms ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN slow_mode_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN pinned_message_id TEXT;
ALTER TABLE messages ADD COLUMN reply_to_id TEXT;
ALTER TABLE messages ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN hidden_by TEXT;
ALTER TABLE messages ADD COLUMN hidden_at TEXT;
-- The answers to a question: unanswered counts, FAQ drafts from a question.
CREATE INDEX messages_reply_to ON messages(reply_to_id) WHERE reply_to_id IS NOT NULL;
-- A visitor's latest post in a room (slow mode); also serves every lookup by author.
CREATE INDEX messages_author ON messages(author_id, room_id, seq);
CREATE TABLE room_mutes (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    customer_id TEXT NOT NULL,
    until TEXT NOT NULL,
    muted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (room_id, customer_id)
);
-- Sites served before this version get their default room once; new sites get it at creation.
INSERT INTO rooms (id, site_id, kind, name, status, position, created_at, updated_at)
SELECT 'room_' || lower(hex(randomblob(12))), s.id, 'public',
       CASE WHEN s.locale = 'id' THEN 'Tanya Jawab' ELSE 'Questions' END, 'open', 1,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM sites s
WHERE NOT EXISTS (SELECT 1 FROM rooms r WHERE r.site_id = s.id AND r.kind = 'public');
