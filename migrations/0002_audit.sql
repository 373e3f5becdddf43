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
