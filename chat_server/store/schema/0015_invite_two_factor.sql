-- Two-factor sign-in set up while accepting an invitation (issue 13): the secret the invitee
-- scanned waits on the link until the account exists and a first code confirms it.
ALTER TABLE agent_links ADD COLUMN totp_pending TEXT;
