-- The author index holds only posts in public rooms. A shopper's words in their own
-- conversation are found through it (rooms.customer_id, then the room's messages), so
-- indexing them by author too cost the writer one more random index page per message,
-- about a seventh of its CPU per shopper text (bench/README.md, "Session 12").
-- `in_public` is 1 on a message of a public room and NULL elsewhere; every query by
-- author says `in_public = 1` (a partial index serves only queries that imply it), and
-- reaches a customer's private messages through their rooms (store/crm.py `_authored`).
ALTER TABLE messages ADD COLUMN in_public INTEGER;
UPDATE messages SET in_public = 1 WHERE room_id IN (SELECT id FROM rooms WHERE kind = 'public');
DROP INDEX messages_author;
CREATE INDEX messages_author ON messages(author_id, room_id, seq) WHERE in_public = 1;
