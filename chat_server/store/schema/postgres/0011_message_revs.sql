-- A reconnecting client catches up on edits and unsends of messages it already holds:
-- every change to a stored message takes the room's next `last_rev` (in the same
-- transaction) and writes it on the message, so `sync {since_rev}` answers the messages
-- changed since the rev a client last saw. 0: never changed (most rows: not indexed).
ALTER TABLE rooms ADD COLUMN last_rev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
CREATE INDEX messages_changed ON messages(room_id, rev) WHERE rev > 0;
