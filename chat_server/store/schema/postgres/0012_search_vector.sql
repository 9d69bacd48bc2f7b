-- Search (store/search.py) over a stored vector instead of the expression index of 0005.
-- A common word matches a large share of a site's messages; search keeps the newest
-- matches (store/search.RANK_WINDOW) and ranks those. With only `to_tsvector(body)` in an
-- index, PostgreSQL fetched every match (~85,000 of a million for two common words),
-- recomputed the vector of each and sorted them all by time: p99 1.8 s. With the vector
-- stored, it walks the site's messages newest first (messages_site_created) and tests
-- each one's vector, stopping at the window's end; a rare word still goes through the GIN
-- index. The column follows `body` (edit, unsend, erase blank it), as the index did.
-- Adding it rewrites the table once (bench/README.md, "Routing and search": the time).
ALTER TABLE messages ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, body)) STORED;
DROP INDEX messages_search;
CREATE INDEX messages_search ON messages USING GIN (search_vector);
CREATE INDEX messages_site_created ON messages(site_id, created_at);
