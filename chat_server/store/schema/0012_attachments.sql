-- Files in conversations. A row is an upload; `message_id` is set when a message carries
-- it (an upload no message claims within a day is deleted with its blobs). Blobs are
-- content-addressed per site (`blob_key`, `thumb_key`): one file uploaded twice is kept once.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    uploader_kind TEXT NOT NULL CHECK (uploader_kind IN ('customer', 'agent')),
    uploader_id TEXT NOT NULL,
    customer_id TEXT,
    message_id TEXT,
    room_id TEXT,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    blob_key TEXT NOT NULL,
    thumb_key TEXT,
    link_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_unsent ON attachments(created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_customer ON attachments(customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX attachments_room ON attachments(room_id) WHERE room_id IS NOT NULL;
CREATE INDEX attachments_blob ON attachments(site_id, blob_key);
-- What a message carries, as its readers see it (JSON), so every read of messages has it.
ALTER TABLE messages ADD COLUMN attachments TEXT;
-- Public rooms: visitors may post images only where staff allow it.
ALTER TABLE rooms ADD COLUMN visitor_images INTEGER NOT NULL DEFAULT 0;
-- The largest file a site takes, in bytes.
ALTER TABLE sites ADD COLUMN max_upload_bytes INTEGER NOT NULL DEFAULT 10485760;
