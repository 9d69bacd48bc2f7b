-- Snooze: a conversation out of the open inbox until a time (or, with the far-future mark
-- of domain/rooms.UNTIL_REPLY, until its shopper writes). The timer wakes due rooms inside a
-- write transaction, so one wake-up happens once whatever the number of processes.
ALTER TABLE rooms ADD COLUMN snoozed_until TEXT;
CREATE INDEX rooms_snoozed ON rooms(snoozed_until) WHERE snoozed_until IS NOT NULL;
-- Offline return: an agent away from every console for this many minutes gives their open
-- conversations back to the queue (NULL: never). `offline_since` is when their last console
-- closed (NULL while one is open, or before anyone noticed).
ALTER TABLE sites ADD COLUMN offline_return_minutes BIGINT;
ALTER TABLE agents ADD COLUMN offline_since TEXT;
