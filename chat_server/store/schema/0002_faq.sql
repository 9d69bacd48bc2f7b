-- FAQ entries per site, their alternate phrasings, and what happened to suggestions.
CREATE TABLE faq_entries (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    lang TEXT NOT NULL CHECK (lang IN ('id', 'en')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    position INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX faq_entries_site ON faq_entries(site_id, position);
CREATE TABLE faq_phrasings (
    id TEXT PRIMARY KEY,
    faq_id TEXT NOT NULL REFERENCES faq_entries(id) ON DELETE CASCADE,
    site_id TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('manual', 'learnt')),
    created_at TEXT NOT NULL,
    UNIQUE (faq_id, text)
);
CREATE INDEX faq_phrasings_site ON faq_phrasings(site_id);
-- Bumped on every FAQ change, so every process knows when its engine is stale.
CREATE TABLE faq_revisions (
    site_id TEXT PRIMARY KEY REFERENCES sites(id),
    revision INTEGER NOT NULL
);
CREATE TABLE faq_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL,
    faq_id TEXT NOT NULL,
    room_id TEXT,
    message_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('shown', 'used', 'helpful', 'not_helpful')),
    created_at TEXT NOT NULL
);
CREATE INDEX faq_events_site ON faq_events(site_id, kind, created_at);
