-- Several conversations per shopper: a resolved conversation the shopper has left behind
-- ("start a new conversation") is superseded; the next message starts another one. At most
-- one conversation per customer is CURRENT (superseded_at IS NULL): where `send` without a
-- room_id goes. Existing conversations stay current.
ALTER TABLE rooms ADD COLUMN superseded_at TEXT;
DROP INDEX rooms_private_customer;
CREATE UNIQUE INDEX rooms_private_customer ON rooms(customer_id)
    WHERE kind = 'private' AND superseded_at IS NULL;
-- Every conversation of a customer, newest first (the widget's list, the record, erase).
CREATE INDEX rooms_customer ON rooms(customer_id, created_at) WHERE customer_id IS NOT NULL;
