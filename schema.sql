-- Keygate schema. Timestamps are ISO 8601 UTC strings with milliseconds, so they sort as text.

CREATE TABLE IF NOT EXISTS orgs (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- A project id is chosen by the origin (e.g. product_123) or generated (prj_...); it is unique
-- within its org, so two tenants may both own a "product_123".
CREATE TABLE IF NOT EXISTS projects (
  org_id     TEXT NOT NULL REFERENCES orgs(id),
  id         TEXT NOT NULL,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (org_id, id)
);

CREATE TABLE IF NOT EXISTS api_keys (
  id                TEXT PRIMARY KEY,
  org_id            TEXT NOT NULL REFERENCES orgs(id),
  project_id        TEXT,
  name              TEXT NOT NULL,
  key_prefix        TEXT NOT NULL,
  key_hash          TEXT NOT NULL UNIQUE,
  scopes            TEXT NOT NULL,           -- JSON array of scope strings
  preset            TEXT,
  allowed_ips       TEXT NOT NULL DEFAULT '[]',
  allowed_origins   TEXT NOT NULL DEFAULT '[]',
  restrictions_mode TEXT NOT NULL DEFAULT 'enforce' CHECK (restrictions_mode IN ('enforce', 'report')),
  not_before        TEXT,
  expires_at        TEXT,
  last_used_at      TEXT,
  created_at        TEXT NOT NULL,
  revoked_at        TEXT,
  rotated_from      TEXT,
  rotated_to        TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_org ON api_keys (org_id, id);
CREATE INDEX IF NOT EXISTS api_keys_org_project ON api_keys (org_id, project_id, id);
