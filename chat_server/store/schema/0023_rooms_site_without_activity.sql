-- Every message changes its room's `updated_at`; with that column in `rooms_site`, every
-- message moved the room's entry, one more index page for the writer per message
-- (bench/README.md, "Session 12"). Conversations being worked on (queued or assigned, at
-- most a few thousand a site) are sorted by activity when listed; resolved ones, which pile
-- up and take no messages (a shopper's message reopens or starts a conversation), keep an
-- index in activity order for the console's long "resolved" list.
DROP INDEX rooms_site;
CREATE INDEX rooms_site ON rooms(site_id, kind, status);
CREATE INDEX rooms_site_resolved ON rooms(site_id, kind, updated_at) WHERE status = 'resolved';
