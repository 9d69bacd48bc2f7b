-- A visitor's public name in community rooms is not their CRM name: the CRM name comes
-- from the shop or a pre-chat form and is never checked against staff names.
ALTER TABLE customers ADD COLUMN display_name TEXT;
