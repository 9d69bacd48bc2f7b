-- RFM off the chat path: the sites whose buyers need re-scoring, each site's thresholds,
-- and which method scored each buyer. Times are Unix seconds.
CREATE TABLE rfm_dirty (
    site_id TEXT PRIMARY KEY,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL,
    claimed_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE rfm_thresholds (
    site_id TEXT PRIMARY KEY,
    thresholds TEXT NOT NULL,
    computed_at REAL NOT NULL
);
ALTER TABLE customer_stats ADD COLUMN rfm_method TEXT NOT NULL DEFAULT 'quintiles';
CREATE INDEX customer_stats_site_customer ON customer_stats(site_id, customer_id);
-- Scores computed before this migration were quintiles even on tiny shops: score again.
INSERT OR IGNORE INTO rfm_dirty (site_id, first_at, last_at)
    SELECT DISTINCT site_id, 0, 0 FROM customer_stats;
