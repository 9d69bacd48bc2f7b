-- Teams: groups of a site's agents ("Pembayaran", "Pengiriman"). A conversation may belong to
-- one; while it waits, only that team's online agents are given it. `name_key` is the name
-- folded for uniqueness (case-insensitive within a site).
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (site_id, name_key)
);
CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    PRIMARY KEY (team_id, agent_id)
);
CREATE INDEX team_members_agent ON team_members(agent_id);
ALTER TABLE rooms ADD COLUMN team_id TEXT REFERENCES teams(id);
CREATE INDEX rooms_team_queue ON rooms(team_id, queue_seq)
    WHERE kind = 'private' AND status = 'queued' AND assignee_id IS NULL;
-- Labels: the site's list (name, colour); agents put them on conversations.
CREATE TABLE labels (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    color TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (site_id, name_key)
);
CREATE TABLE room_labels (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    label_id TEXT NOT NULL REFERENCES labels(id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (room_id, label_id)
);
CREATE INDEX room_labels_label ON room_labels(label_id);
