-- Identity for first-party dashboards: better-auth's tables (src/auth/schema.ts maps its models
-- and fields onto these names). Its organizations are Keygate's orgs, not a second list: better-auth
-- writes the `orgs` table, with the columns added here. Ids are Keygate's prefixed K-sortable ids
-- (usr_, ses_, acc_, vrf_, mem_, inv_, org_); timestamps are ISO 8601 UTC text, as better-auth
-- writes dates on SQLite. Index names are better-auth's own, so its migration tooling finds
-- nothing missing (test/auth/schema.test.ts checks that).

-- better-auth requires a slug; SQLite cannot add a NOT NULL column without a default, so the
-- column is nullable and every writer (better-auth, the admin API) sets it. Existing orgs get their
-- lowercased id.
ALTER TABLE orgs ADD COLUMN slug TEXT;
ALTER TABLE orgs ADD COLUMN logo TEXT;
ALTER TABLE orgs ADD COLUMN metadata TEXT;            -- JSON, as better-auth stores it
UPDATE orgs SET slug = lower(id) WHERE slug IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS orgs_slug_uidx ON orgs (slug);

CREATE TABLE IF NOT EXISTS users (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  email          TEXT NOT NULL UNIQUE,
  email_verified INTEGER NOT NULL DEFAULT 0,
  image          TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL
);

-- `token` is the secret half of the session cookie (`<token>.<signature>`); the gateway caches a
-- session under the token's SHA-256, never the token.
CREATE TABLE IF NOT EXISTS sessions (
  id            TEXT PRIMARY KEY,
  expires_at    TEXT NOT NULL,
  token         TEXT NOT NULL UNIQUE,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  ip_address    TEXT,
  user_agent    TEXT,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  active_org_id TEXT
);
CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON sessions (user_id);

-- One row per sign-in method of a user; `provider_id = 'credential'` holds the password hash.
CREATE TABLE IF NOT EXISTS accounts (
  id                       TEXT PRIMARY KEY,
  account_id               TEXT NOT NULL,
  provider_id              TEXT NOT NULL,
  user_id                  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  access_token             TEXT,
  refresh_token            TEXT,
  id_token                 TEXT,
  access_token_expires_at  TEXT,
  refresh_token_expires_at TEXT,
  scope                    TEXT,
  password                 TEXT,
  created_at               TEXT NOT NULL,
  updated_at               TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS accounts_user_id_idx ON accounts (user_id);

CREATE TABLE IF NOT EXISTS verifications (
  id         TEXT PRIMARY KEY,
  identifier TEXT NOT NULL,
  value      TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verifications_identifier_idx ON verifications (identifier);

-- Org membership: what a session caller may reach (the gateway reads a user's orgs by user_id).
CREATE TABLE IF NOT EXISTS members (
  id         TEXT PRIMARY KEY,
  org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role       TEXT NOT NULL DEFAULT 'member',
  created_at TEXT NOT NULL,
  UNIQUE (user_id, org_id)
);
CREATE INDEX IF NOT EXISTS members_org_id_idx ON members (org_id);
CREATE INDEX IF NOT EXISTS members_user_id_idx ON members (user_id);

CREATE TABLE IF NOT EXISTS invitations (
  id         TEXT PRIMARY KEY,
  org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  email      TEXT NOT NULL,
  role       TEXT,
  status     TEXT NOT NULL DEFAULT 'pending',
  expires_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  inviter_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS invitations_org_id_idx ON invitations (org_id);
CREATE INDEX IF NOT EXISTS invitations_email_idx ON invitations (email);
