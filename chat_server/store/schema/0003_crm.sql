-- The customer record: profile, attributes, tags, notes, consent, orders, RFM, erasures.
ALTER TABLE customers ADD COLUMN phone TEXT;
ALTER TABLE customers ADD COLUMN locale TEXT;
ALTER TABLE customers ADD COLUMN merged_into TEXT;
ALTER TABLE customers ADD COLUMN erased_at TEXT;
CREATE INDEX customers_site ON customers(site_id, last_seen_at);
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
    granted INTEGER NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (customer_id, kind)
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    order_id TEXT NOT NULL,
    total REAL NOT NULL,
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
    orders_count INTEGER NOT NULL,
    total_spent REAL NOT NULL,
    currency TEXT NOT NULL,
    first_order_at TEXT NOT NULL,
    last_order_at TEXT NOT NULL,
    r INTEGER NOT NULL DEFAULT 0,
    f INTEGER NOT NULL DEFAULT 0,
    m INTEGER NOT NULL DEFAULT 0,
    segment TEXT NOT NULL DEFAULT 'new'
);
CREATE INDEX customer_stats_site ON customer_stats(site_id, segment);
CREATE TABLE erasures (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    erased_by TEXT NOT NULL,
    erased_at TEXT NOT NULL
);
ALTER TABLE sites ADD COLUMN prechat TEXT NOT NULL DEFAULT '{"enabled": false, "fields": ["name", "email"], "consent": true}';
