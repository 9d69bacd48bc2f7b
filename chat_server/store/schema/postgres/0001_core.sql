-- The schema of SQLite migrations 0001-0010 in one step, for PostgreSQL.
-- Text compares, sorts and case-folds byte-wise (collation "C") as SQLite's does, whatever
-- the database's own locale: lists come out in the same order on both backends.
-- Integers are 64-bit as in SQLite; booleans stay integers 0/1; times stay ISO text.
CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT COLLATE "C" NOT NULL);
CREATE TABLE sites (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    site_key TEXT COLLATE "C" NOT NULL UNIQUE,
    identity_secret TEXT COLLATE "C" NOT NULL,
    api_token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    domains TEXT COLLATE "C" NOT NULL,
    greeting TEXT COLLATE "C" NOT NULL DEFAULT '',
    locale TEXT COLLATE "C" NOT NULL DEFAULT 'id',
    color TEXT COLLATE "C" NOT NULL DEFAULT '#0f766e',
    created_at TEXT COLLATE "C" NOT NULL,
    prechat TEXT COLLATE "C" NOT NULL DEFAULT '{"enabled": false, "fields": ["name", "email"], "consent": true}'
);
CREATE TABLE agents (
    id TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL REFERENCES sites(id),
    email TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL CHECK (role IN ('agent', 'owner')),
    password_hash TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL DEFAULT 'offline',
    created_at TEXT COLLATE "C" NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    last_seen_at TEXT COLLATE "C"
);
-- SQLite's `COLLATE NOCASE UNIQUE`: the store writes and looks up emails lower-cased.
CREATE UNIQUE INDEX agents_email ON agents(lower(email));
CREATE INDEX agents_email_exact ON agents(email);
CREATE INDEX agents_site ON agents(site_id);
CREATE TABLE customers (
    id TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL REFERENCES sites(id),
    external_id TEXT COLLATE "C",
    name TEXT COLLATE "C",
    email TEXT COLLATE "C",
    created_at TEXT COLLATE "C" NOT NULL,
    last_seen_at TEXT COLLATE "C" NOT NULL,
    phone TEXT COLLATE "C",
    locale TEXT COLLATE "C",
    merged_into TEXT COLLATE "C",
    erased_at TEXT COLLATE "C",
    display_name TEXT COLLATE "C",
    UNIQUE (site_id, external_id)
);
CREATE INDEX customers_site ON customers(site_id, last_seen_at);
CREATE INDEX customers_display_name ON customers(site_id, display_name)
    WHERE display_name IS NOT NULL;
CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into IS NOT NULL;
CREATE TABLE widget_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL REFERENCES sites(id),
    customer_id TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX widget_tokens_customer ON widget_tokens(customer_id);
CREATE TABLE rooms (
    id TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL REFERENCES sites(id),
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('private', 'public')),
    name TEXT COLLATE "C",
    status TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C" REFERENCES customers(id),
    assignee_id TEXT COLLATE "C" REFERENCES agents(id),
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    archived BIGINT NOT NULL DEFAULT 0,
    slow_mode_seconds BIGINT NOT NULL DEFAULT 0,
    pinned_message_id TEXT COLLATE "C",
    resolution_id TEXT COLLATE "C"
);
-- One private conversation per customer: two first messages racing on two hosts
-- cannot create two rooms.
CREATE UNIQUE INDEX rooms_private_customer ON rooms(customer_id) WHERE kind = 'private';
CREATE INDEX rooms_site ON rooms(site_id, kind, status, updated_at);
CREATE TABLE messages (
    id TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL,
    room_id TEXT COLLATE "C" NOT NULL REFERENCES rooms(id),
    seq BIGINT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('text', 'note', 'event')),
    body TEXT COLLATE "C" NOT NULL,
    author_kind TEXT COLLATE "C" NOT NULL,
    author_id TEXT COLLATE "C" NOT NULL,
    author_name TEXT COLLATE "C" NOT NULL,
    client_msg_id TEXT COLLATE "C",
    created_at TEXT COLLATE "C" NOT NULL,
    reply_to_id TEXT COLLATE "C",
    hidden BIGINT NOT NULL DEFAULT 0,
    hidden_by TEXT COLLATE "C",
    hidden_at TEXT COLLATE "C",
    event TEXT COLLATE "C",
    UNIQUE (room_id, seq),
    UNIQUE (room_id, client_msg_id)
);
CREATE INDEX messages_reply_to ON messages(reply_to_id) WHERE reply_to_id IS NOT NULL;
CREATE INDEX messages_author ON messages(author_id, room_id, seq);
CREATE TABLE read_marks (
    room_id TEXT COLLATE "C" NOT NULL REFERENCES rooms(id),
    reader_kind TEXT COLLATE "C" NOT NULL,
    reader_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (room_id, reader_kind, reader_id)
);
CREATE TABLE console_sessions (
    id TEXT COLLATE "C" PRIMARY KEY,
    agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents(id),
    csrf_token TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    last_used_at TEXT COLLATE "C"
);
CREATE INDEX console_sessions_agent ON console_sessions(agent_id);
CREATE TABLE ratings (
    id TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL,
    room_id TEXT COLLATE "C" NOT NULL REFERENCES rooms(id),
    customer_id TEXT COLLATE "C" NOT NULL,
    score BIGINT NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT COLLATE "C",
    created_at TEXT COLLATE "C" NOT NULL,
    resolution_id TEXT COLLATE "C"
);
CREATE INDEX ratings_room ON ratings(room_id, created_at);
CREATE UNIQUE INDEX ratings_resolution ON ratings(resolution_id) WHERE resolution_id IS NOT NULL;
CREATE TABLE faq_entries (
    id TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL REFERENCES sites(id),
    question TEXT COLLATE "C" NOT NULL,
    answer TEXT COLLATE "C" NOT NULL,
    category TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    lang TEXT COLLATE "C" NOT NULL CHECK (lang IN ('id', 'en')),
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('draft', 'published')),
    position BIGINT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    source_message_id TEXT COLLATE "C"
);
CREATE INDEX faq_entries_site ON faq_entries(site_id, position);
CREATE INDEX faq_entries_source ON faq_entries(source_message_id) WHERE source_message_id IS NOT NULL;
CREATE TABLE faq_phrasings (
    id TEXT COLLATE "C" PRIMARY KEY,
    faq_id TEXT COLLATE "C" NOT NULL REFERENCES faq_entries(id) ON DELETE CASCADE,
    site_id TEXT COLLATE "C" NOT NULL,
    text TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL CHECK (source IN ('manual', 'learnt')),
    created_at TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C",
    source_message_id TEXT COLLATE "C",
    source_customer_id TEXT COLLATE "C",
    UNIQUE (faq_id, text)
);
CREATE INDEX faq_phrasings_site ON faq_phrasings(site_id);
CREATE INDEX faq_phrasings_customer ON faq_phrasings(customer_id, created_at)
    WHERE customer_id IS NOT NULL;
CREATE INDEX faq_phrasings_source ON faq_phrasings(source_customer_id) WHERE source_customer_id IS NOT NULL;
CREATE TABLE faq_revisions (
    site_id TEXT COLLATE "C" PRIMARY KEY REFERENCES sites(id),
    revision BIGINT NOT NULL,
    learnt BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE faq_events (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL,
    faq_id TEXT COLLATE "C" NOT NULL,
    room_id TEXT COLLATE "C",
    message_id TEXT COLLATE "C",
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('shown', 'used', 'helpful', 'not_helpful')),
    created_at TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C"
);
CREATE INDEX faq_events_site ON faq_events(site_id, kind, created_at);
CREATE INDEX faq_events_room ON faq_events(room_id, created_at);
CREATE INDEX faq_events_voter ON faq_events(faq_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE TABLE customer_attributes (
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers(id),
    key TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, key)
);
CREATE TABLE customer_tags (
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers(id),
    tag TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE TABLE customer_notes (
    id TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers(id),
    agent_id TEXT COLLATE "C" NOT NULL,
    agent_name TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX customer_notes_customer ON customer_notes(customer_id);
CREATE TABLE consents (
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers(id),
    kind TEXT COLLATE "C" NOT NULL,
    granted BIGINT NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, kind)
);
CREATE TABLE orders (
    id TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL REFERENCES sites(id),
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers(id),
    order_id TEXT COLLATE "C" NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    currency TEXT COLLATE "C" NOT NULL,
    items TEXT COLLATE "C" NOT NULL,
    placed_at TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (site_id, order_id)
);
CREATE INDEX orders_customer ON orders(customer_id, placed_at);
CREATE TABLE customer_stats (
    customer_id TEXT COLLATE "C" PRIMARY KEY REFERENCES customers(id),
    site_id TEXT COLLATE "C" NOT NULL,
    orders_count BIGINT NOT NULL,
    total_spent DOUBLE PRECISION NOT NULL,
    currency TEXT COLLATE "C" NOT NULL,
    first_order_at TEXT COLLATE "C" NOT NULL,
    last_order_at TEXT COLLATE "C" NOT NULL,
    r BIGINT NOT NULL DEFAULT 0,
    f BIGINT NOT NULL DEFAULT 0,
    m BIGINT NOT NULL DEFAULT 0,
    segment TEXT COLLATE "C" NOT NULL DEFAULT 'new',
    rfm_method TEXT COLLATE "C" NOT NULL DEFAULT 'quintiles'
);
CREATE INDEX customer_stats_site ON customer_stats(site_id, segment);
CREATE INDEX customer_stats_site_customer ON customer_stats(site_id, customer_id);
CREATE TABLE erasures (
    id TEXT COLLATE "C" PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C" NOT NULL,
    erased_by TEXT COLLATE "C" NOT NULL,
    erased_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE room_mutes (
    room_id TEXT COLLATE "C" NOT NULL REFERENCES rooms(id),
    customer_id TEXT COLLATE "C" NOT NULL,
    until TEXT COLLATE "C" NOT NULL,
    muted_by TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (room_id, customer_id)
);
CREATE TABLE site_origins (
    site_id TEXT COLLATE "C" NOT NULL REFERENCES sites(id),
    origin TEXT COLLATE "C" NOT NULL,
    last_seen_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (site_id, origin)
);
CREATE TABLE account_changes (
    seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    site_id TEXT COLLATE "C" NOT NULL,
    agent_id TEXT COLLATE "C" NOT NULL,
    close_code BIGINT NOT NULL,
    reason TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE rfm_dirty (
    site_id TEXT COLLATE "C" PRIMARY KEY,
    first_at DOUBLE PRECISION NOT NULL,
    last_at DOUBLE PRECISION NOT NULL,
    claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE TABLE rfm_thresholds (
    site_id TEXT COLLATE "C" PRIMARY KEY,
    thresholds TEXT COLLATE "C" NOT NULL,
    computed_at DOUBLE PRECISION NOT NULL
);
