-- Privacy: erase finds copies of a customer's words by reference, not by comparing text
-- (a learnt phrasing is stored collapsed and cut, a draft question is cut).
ALTER TABLE faq_phrasings ADD COLUMN source_message_id TEXT;
ALTER TABLE faq_phrasings ADD COLUMN source_customer_id TEXT;
CREATE INDEX faq_phrasings_source ON faq_phrasings(source_customer_id) WHERE source_customer_id IS NOT NULL;
ALTER TABLE faq_entries ADD COLUMN source_message_id TEXT;
CREATE INDEX faq_entries_source ON faq_entries(source_message_id) WHERE source_message_id IS NOT NULL;
-- Erase follows merge chains (anonymous -> known) to any depth.
CREATE INDEX customers_merged_into ON customers(merged_into) WHERE merged_into IS NOT NULL;
-- A widget session's customer row is made at the shopper's first action, not at page load:
-- a token may name a customer id that has no row yet, so the foreign key goes.
CREATE TABLE widget_tokens_v2 (
    token_hash TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    customer_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO widget_tokens_v2 (token_hash, site_id, customer_id, created_at)
SELECT token_hash, site_id, customer_id, created_at FROM widget_tokens;
DROP TABLE widget_tokens;
ALTER TABLE widget_tokens_v2 RENAME TO widget_tokens;
CREATE INDEX widget_tokens_customer ON widget_tokens(customer_id);
