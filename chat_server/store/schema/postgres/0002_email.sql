-- Email: sites' hours and mail settings, the outbox, inbound mail, replies waiting to be
-- emailed, and agents' notification preferences.
ALTER TABLE sites ADD COLUMN business_hours TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sites ADD COLUMN away_message TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sites ADD COLUMN email_settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE agents ADD COLUMN notify_after_minutes BIGINT NOT NULL DEFAULT 0;
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    idem_key TEXT NOT NULL UNIQUE,
    customer_id TEXT,
    room_id TEXT,
    kind TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    to_name TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    reply_to TEXT,
    unsubscribe_url TEXT,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);
CREATE INDEX mail_outbox_customer ON mail_outbox(customer_id);
CREATE TABLE mail_inbound (
    id TEXT PRIMARY KEY,
    message_key TEXT NOT NULL UNIQUE,
    site_id TEXT,
    customer_id TEXT,
    room_id TEXT,
    from_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX mail_inbound_customer ON mail_inbound(customer_id);
CREATE TABLE mail_threads (
    room_id TEXT PRIMARY KEY REFERENCES rooms(id),
    site_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    due_at TEXT,
    emailed_seq BIGINT NOT NULL DEFAULT 0,
    notified_at TEXT
);
CREATE INDEX mail_threads_due ON mail_threads(due_at);
