-- Limits against abuse by throwaway identities.
-- Visitors who post without choosing a public name get one ("Pembeli 7F3A"), unique in the site.
CREATE INDEX customers_display_name ON customers(site_id, display_name)
    WHERE display_name IS NOT NULL;
-- One rating per resolution: each resolve gives the room a new resolution id, and a later
-- rating of the same resolution replaces the earlier one.
ALTER TABLE rooms ADD COLUMN resolution_id TEXT;
UPDATE rooms SET resolution_id = 'res_legacy_' || id WHERE status = 'resolved';
ALTER TABLE ratings ADD COLUMN resolution_id TEXT;
CREATE UNIQUE INDEX ratings_resolution ON ratings(resolution_id) WHERE resolution_id IS NOT NULL;
-- Whose words a learnt phrasing copies (limits per shopper; erase), and who gave a
-- helpful/not helpful vote (one vote per shopper and suggestion).
ALTER TABLE faq_phrasings ADD COLUMN customer_id TEXT;
CREATE INDEX faq_phrasings_customer ON faq_phrasings(customer_id, created_at)
    WHERE customer_id IS NOT NULL;
ALTER TABLE faq_events ADD COLUMN customer_id TEXT;
CREATE INDEX faq_events_voter ON faq_events(faq_id, customer_id) WHERE customer_id IS NOT NULL;
-- Learnt phrasings are counted apart from owners' changes, so engines pick them up in
-- batches instead of rebuilding for each one.
ALTER TABLE faq_revisions ADD COLUMN learnt INTEGER NOT NULL DEFAULT 0;
