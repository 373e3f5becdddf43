-- Audit storage tiers (SPEC §9, README "Audit pipeline"): a staging table that makes rollups
-- idempotent, per-minute and per-hour counts, and the scopes each key's requests exercised.
-- Rollup key columns hold '' for "none" (NULL would never conflict in the upserts).

-- Empty between consumer batches: within one D1 batch (one transaction) it holds only the events
-- not stored before, so rollups count each event once however often its message is delivered.
-- It keeps the whole event as JSON, so new event fields need no column here.
CREATE TABLE IF NOT EXISTS audit_ingest (
  id    TEXT PRIMARY KEY,
  event TEXT NOT NULL
) WITHOUT ROWID;

-- bucket: 'YYYY-MM-DDTHH:MM' (UTC). Kept 3 days: requests_24h and minute charts.
CREATE TABLE IF NOT EXISTS audit_rollup_minute (
  org_id     TEXT NOT NULL,
  bucket     TEXT NOT NULL,
  project_id TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  reason     TEXT NOT NULL,
  allowed    INTEGER NOT NULL DEFAULT 0,
  denied     INTEGER NOT NULL DEFAULT 0,
  would_deny INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, bucket, project_id, key_id, reason)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_rollup_minute_key ON audit_rollup_minute (key_id, bucket);
CREATE INDEX IF NOT EXISTS audit_rollup_minute_bucket ON audit_rollup_minute (bucket);

-- bucket: 'YYYY-MM-DDTHH' (UTC). Kept AUDIT_RETENTION_DAYS: summaries over any range.
CREATE TABLE IF NOT EXISTS audit_rollup_hour (
  org_id     TEXT NOT NULL,
  bucket     TEXT NOT NULL,
  project_id TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  reason     TEXT NOT NULL,
  allowed    INTEGER NOT NULL DEFAULT 0,
  denied     INTEGER NOT NULL DEFAULT 0,
  would_deny INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, bucket, project_id, key_id, reason)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_rollup_hour_key ON audit_rollup_hour (key_id, bucket);
CREATE INDEX IF NOT EXISTS audit_rollup_hour_bucket ON audit_rollup_hour (bucket);

-- Per key and UTC day ('YYYY-MM-DD'), how many allowed (or would_deny) requests required each
-- scope: the console's least-privilege view. Kept 35 days.
CREATE TABLE IF NOT EXISTS audit_key_scopes (
  key_id     TEXT NOT NULL,
  day        TEXT NOT NULL,
  scope      TEXT NOT NULL,
  org_id     TEXT NOT NULL,
  project_id TEXT NOT NULL,
  requests   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, day, scope)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS audit_key_scopes_org ON audit_key_scopes (org_id, day);
CREATE INDEX IF NOT EXISTS audit_key_scopes_day ON audit_key_scopes (day);

-- Where the D1 hot window starts: the retention cron moves it forward as it trims, and the audit
-- API reads older ranges from the R2 archive. One row.
CREATE TABLE IF NOT EXISTS audit_tier_state (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  hot_from TEXT NOT NULL
);

-- 1 for rows the consumer stored (it archives what it stores). Rows from before the archive
-- existed are NULL: the retention cron archives them before it trims them, so an upgrade loses
-- nothing. The partial index is empty once that backfill is done.
ALTER TABLE audit_events ADD COLUMN archived INTEGER;
CREATE INDEX IF NOT EXISTS audit_unarchived ON audit_events (ts) WHERE archived IS NULL;
