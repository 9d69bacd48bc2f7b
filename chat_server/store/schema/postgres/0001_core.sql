-- The schema of SQLite migrations 0001-0010 in one step, for PostgreSQL.
-- Create the database with a C collation (`createdb --locale=C.UTF-8 --template=template0`)
-- so that text sorts byte-wise as in SQLite (docs/operations.md).
-- Integers are 64-bit as in SQLite; booleans stay integers 0/1; times stay ISO text.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    site_key TEXT NOT NULL UNIQUE,
    identity_secret TEXT NOT NULL,
    api_token_hash TEXT NOT NULL UNIQUE,
    domains TEXT NOT NULL,
    greeting TEXT NOT NULL DEFAULT '',
    locale TEXT NOT NULL DEFAULT 'id',
    color TEXT NOT NULL DEFAULT '#0f766e',
    created_at TEXT NOT NULL,
    prechat TEXT NOT NULL DEFAULT '{"enabled": false, "fields": ["name", "email"], "consent": true}'
);
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'owner')),
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'offline',
    created_at TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    last_seen_at TEXT
);
-- SQLite's `COLLATE NOCASE UNIQUE`: the store writes and looks up emails lower-cased.
CREATE UNIQUE INDEX agents_email ON agents(lower(email));
CREATE INDEX agents_email_exact ON agents(email);
CREATE INDEX agents_site ON agents(site_id);
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    external_id TEXT,
    name TEXT,
    email TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    phone TEXT,
    locale TEXT,
    merged_into TEXT,
    erased_at TEXT,
    display_name TEXT,
    UNIQUE (site_id, external_id)
);
CREATE INDEX customers_site ON customers(site_id, last_seen_at);
CREATE INDEX customers_display_name ON customers(site_id, display_name)
    WHERE display_name IS NOT NULL;
CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into IS NOT NULL;
CREATE TABLE widget_tokens (
    token_hash TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    customer_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX widget_tokens_customer ON widget_tokens(customer_id);
CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    kind TEXT NOT NULL CHECK (kind IN ('private', 'public')),
    name TEXT,
    status TEXT NOT NULL,
    customer_id TEXT REFERENCES customers(id),
    assignee_id TEXT REFERENCES agents(id),
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    archived BIGINT NOT NULL DEFAULT 0,
    slow_mode_seconds BIGINT NOT NULL DEFAULT 0,
    pinned_message_id TEXT,
    resolution_id TEXT
);
-- One private conversation per customer: two first messages racing on two hosts
-- cannot create two rooms.
CREATE UNIQUE INDEX rooms_private_customer ON rooms(customer_id) WHERE kind = 'private';
CREATE INDEX rooms_site ON rooms(site_id, kind, status, updated_at);
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms(id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('text', 'note', 'event')),
    body TEXT NOT NULL,
    author_kind TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    client_msg_id TEXT,
    created_at TEXT NOT NULL,
    reply_to_id TEXT,
    hidden BIGINT NOT NULL DEFAULT 0,
    hidden_by TEXT,
    hidden_at TEXT,
    event TEXT,
    UNIQUE (room_id, seq),
    UNIQUE (room_id, client_msg_id)
);
CREATE INDEX messages_reply_to ON messages(reply_to_id) WHERE reply_to_id IS NOT NULL;
CREATE INDEX messages_author ON messages(author_id, room_id, seq);
CREATE TABLE read_marks (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    reader_kind TEXT NOT NULL,
    reader_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (room_id, reader_kind, reader_id)
);
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX console_sessions_agent ON console_sessions(agent_id);
CREATE TABLE ratings (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms(id),
    customer_id TEXT NOT NULL,
    score BIGINT NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT,
    created_at TEXT NOT NULL,
    resolution_id TEXT
);
CREATE INDEX ratings_room ON ratings(room_id, created_at);
CREATE UNIQUE INDEX ratings_resolution ON ratings(resolution_id) WHERE resolution_id IS NOT NULL;
CREATE TABLE faq_entries (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    lang TEXT NOT NULL CHECK (lang IN ('id', 'en')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    position BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    source_message_id TEXT
);
CREATE INDEX faq_entries_site ON faq_entries(site_id, position);
CREATE INDEX faq_entries_source ON faq_entries(source_message_id) WHERE source_message_id IS NOT NULL;
CREATE TABLE faq_phrasings (
    id TEXT PRIMARY KEY,
    faq_id TEXT NOT NULL REFERENCES faq_entries(id) ON DELETE CASCADE,
    site_id TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('manual', 'learnt')),
    created_at TEXT NOT NULL,
    customer_id TEXT,
    source_message_id TEXT,
    source_customer_id TEXT,
    UNIQUE (faq_id, text)
);
CREATE INDEX faq_phrasings_site ON faq_phrasings(site_id);
CREATE INDEX faq_phrasings_customer ON faq_phrasings(customer_id, created_at)
    WHERE customer_id IS NOT NULL;
CREATE INDEX faq_phrasings_source ON faq_phrasings(source_customer_id) WHERE source_customer_id IS NOT NULL;
CREATE TABLE faq_revisions (
    site_id TEXT PRIMARY KEY REFERENCES sites(id),
    revision BIGINT NOT NULL,
    learnt BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE faq_events (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    site_id TEXT NOT NULL,
    faq_id TEXT NOT NULL,
    room_id TEXT,
    message_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('shown', 'used', 'helpful', 'not_helpful')),
    created_at TEXT NOT NULL,
    customer_id TEXT
);
CREATE INDEX faq_events_site ON faq_events(site_id, kind, created_at);
CREATE INDEX faq_events_room ON faq_events(room_id, created_at);
CREATE INDEX faq_events_voter ON faq_events(faq_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE TABLE customer_attributes (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (customer_id, key)
);
CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE TABLE customer_notes (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    agent_id TEXT NOT NULL,
    agent_name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX customer_notes_customer ON customer_notes(customer_id);
CREATE TABLE consents (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    kind TEXT NOT NULL,
    granted BIGINT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (customer_id, kind)
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    order_id TEXT NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    currency TEXT NOT NULL,
    items TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (site_id, order_id)
);
CREATE INDEX orders_customer ON orders(customer_id, placed_at);
CREATE TABLE customer_stats (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id),
    site_id TEXT NOT NULL,
    orders_count BIGINT NOT NULL,
    total_spent DOUBLE PRECISION NOT NULL,
    currency TEXT NOT NULL,
    first_order_at TEXT NOT NULL,
    last_order_at TEXT NOT NULL,
    r BIGINT NOT NULL DEFAULT 0,
    f BIGINT NOT NULL DEFAULT 0,
    m BIGINT NOT NULL DEFAULT 0,
    segment TEXT NOT NULL DEFAULT 'new',
    rfm_method TEXT NOT NULL DEFAULT 'quintiles'
);
CREATE INDEX customer_stats_site ON customer_stats(site_id, segment);
CREATE INDEX customer_stats_site_customer ON customer_stats(site_id, customer_id);
CREATE TABLE erasures (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    erased_by TEXT NOT NULL,
    erased_at TEXT NOT NULL
);
CREATE TABLE room_mutes (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    customer_id TEXT NOT NULL,
    until TEXT NOT NULL,
    muted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (room_id, customer_id)
);
CREATE TABLE site_origins (
    site_id TEXT NOT NULL REFERENCES sites(id),
    origin TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (site_id, origin)
);
CREATE TABLE account_changes (
    seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    site_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    close_code BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE rfm_dirty (
    site_id TEXT PRIMARY KEY,
    first_at DOUBLE PRECISION NOT NULL,
    last_at DOUBLE PRECISION NOT NULL,
    claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE TABLE rfm_thresholds (
    site_id TEXT PRIMARY KEY,
    thresholds TEXT NOT NULL,
    computed_at DOUBLE PRECISION NOT NULL
);
-- SQLite sums comparisons (`sum(kind = 'x')`, true is 1); so does this sum over booleans
-- (NULL over no rows, NULLs skipped, as SQLite's sum).
CREATE FUNCTION sapa_sum_bool(state BIGINT, value BOOLEAN) RETURNS BIGINT
    LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN value IS NULL THEN state ELSE COALESCE(state, 0) + value::int END';
CREATE AGGREGATE sum(BOOLEAN) (SFUNC = sapa_sum_bool, STYPE = BIGINT);
