-- POST /_keygate/v1/orgs/:id/invitations (SPEC §8) may be called with ADMIN_TOKEN, which is no
-- user: inviter_id becomes optional (NULL = invited with ADMIN_TOKEN). SQLite cannot drop a NOT
-- NULL constraint in place, so the table is rebuilt; nothing references it.
CREATE TABLE invitations_new (
  id         TEXT PRIMARY KEY,
  org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  email      TEXT NOT NULL,
  role       TEXT,
  status     TEXT NOT NULL DEFAULT 'pending',
  expires_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  inviter_id TEXT REFERENCES users(id) ON DELETE CASCADE
);
INSERT INTO invitations_new (id, org_id, email, role, status, expires_at, created_at, inviter_id)
  SELECT id, org_id, email, role, status, expires_at, created_at, inviter_id FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
CREATE INDEX IF NOT EXISTS invitations_org_id_idx ON invitations (org_id);
CREATE INDEX IF NOT EXISTS invitations_email_idx ON invitations (email);
