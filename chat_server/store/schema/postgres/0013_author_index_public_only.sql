-- The author index holds only posts in public rooms (SQLite's 0022 says why): a shopper's
-- words in their own conversation are found through it. `in_public` is 1 on a message of
-- a public room and NULL elsewhere; every query by author says `in_public = 1`.
ALTER TABLE messages ADD COLUMN in_public BIGINT;
UPDATE messages SET in_public = 1 WHERE room_id IN (SELECT id FROM rooms WHERE kind = 'public');
DROP INDEX messages_author;
CREATE INDEX messages_author ON messages(author_id, room_id, seq) WHERE in_public = 1;
