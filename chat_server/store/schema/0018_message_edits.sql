-- Unsend and edit: a sender changes their own message in place, so `body` is always what
-- readers see now (the search index follows it: SQLite's triggers, PostgreSQL's expression
-- index). The words it replaced go to the audit log in the same transaction.
-- `edited_at`: the last edit; `deleted_at`: unsent (the body is then empty, files dropped).
ALTER TABLE messages ADD COLUMN edited_at TEXT;
ALTER TABLE messages ADD COLUMN deleted_at TEXT;
