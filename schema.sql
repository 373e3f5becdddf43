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
-- The audit log (SPEC §9). One row per gateway request and per admin change, written by the queue
-- consumer; `id` is K-sortable (evt_<time><random>), so newest first is ORDER BY id DESC.

CREATE TABLE IF NOT EXISTS audit_events (
  id                TEXT PRIMARY KEY,
  ts                TEXT NOT NULL,
  request_id        TEXT NOT NULL,
  client_request_id TEXT,
  org_id            TEXT,
  project_id        TEXT,
  key_id            TEXT,
  key_prefix        TEXT,
  caller            TEXT,
  outcome           TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied', 'would_deny')),
  reason            TEXT,
  status            INTEGER NOT NULL,
  method            TEXT NOT NULL,
  path              TEXT NOT NULL,
  ip                TEXT,
  origin            TEXT,
  country           TEXT,
  colo              TEXT,
  user_agent        TEXT,
  latency_ms        INTEGER NOT NULL,
  required_scopes   TEXT NOT NULL DEFAULT '[]',
  missing_scopes    TEXT NOT NULL DEFAULT '[]',
  action            TEXT,
  target_id         TEXT
) WITHOUT ROWID;

-- Filters of GET /_keygate/v1/audit, each newest first.
CREATE INDEX IF NOT EXISTS audit_org ON audit_events (org_id, id);
CREATE INDEX IF NOT EXISTS audit_org_project ON audit_events (org_id, project_id, id);
CREATE INDEX IF NOT EXISTS audit_key ON audit_events (key_id, id);
CREATE INDEX IF NOT EXISTS audit_request ON audit_events (request_id);
CREATE INDEX IF NOT EXISTS audit_ts ON audit_events (ts);
