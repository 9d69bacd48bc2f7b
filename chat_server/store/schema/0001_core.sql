-- Sites, agents, customers, widget tokens, rooms, messages, sessions.
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
    created_at TEXT NOT NULL
);
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'owner')),
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'offline',
    created_at TEXT NOT NULL
);
CREATE INDEX agents_site ON agents(site_id);
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    external_id TEXT,
    name TEXT,
    email TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    UNIQUE (site_id, external_id)
);
CREATE TABLE widget_tokens (
    token_hash TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    created_at TEXT NOT NULL
);
CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    kind TEXT NOT NULL CHECK (kind IN ('private', 'public')),
    name TEXT,
    status TEXT NOT NULL,
    customer_id TEXT REFERENCES customers(id),
    assignee_id TEXT REFERENCES agents(id),
    last_seq INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- One private conversation per customer: two first messages racing on two
-- processes cannot create two rooms.
CREATE UNIQUE INDEX rooms_private_customer ON rooms(customer_id) WHERE kind = 'private';
CREATE INDEX rooms_site ON rooms(site_id, kind, status, updated_at);
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('text', 'note', 'event')),
    body TEXT NOT NULL,
    author_kind TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    client_msg_id TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (room_id, seq),
    UNIQUE (room_id, client_msg_id)
);
CREATE TABLE read_marks (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    reader_kind TEXT NOT NULL,
    reader_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (room_id, reader_kind, reader_id)
);
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE ratings (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms(id),
    customer_id TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT,
    created_at TEXT NOT NULL
);
