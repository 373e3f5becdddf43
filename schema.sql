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
-- OAuth 2.0 device flow (RFC 8628) and the bearer tokens it yields (src/oauth/). Secrets (device
-- codes, access and refresh tokens) are stored only as their SHA-256 hex digest.

-- One row per device authorization: requested at /oauth/device/code, decided by a signed-in user on
-- the verification page, exchanged for tokens once. Its id is the family id of every token it yields.
CREATE TABLE IF NOT EXISTS oauth_device_codes (
  id               TEXT PRIMARY KEY,          -- dvc_...
  device_code_hash TEXT NOT NULL UNIQUE,
  user_code        TEXT NOT NULL UNIQUE,      -- 8 letters, without the dash
  client_id        TEXT NOT NULL,
  scopes           TEXT NOT NULL,             -- JSON array: what the client requested
  org_id           TEXT,                      -- requested, then the approved org
  project_id       TEXT,
  status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'exchanged')),
  interval_s       INTEGER NOT NULL,          -- grows by 5 on every slow_down
  last_polled_at   INTEGER,                   -- epoch ms
  user_id          TEXT,                      -- who approved or denied
  granted_scopes   TEXT,                      -- JSON array, set on approval
  expires_at       INTEGER NOT NULL,          -- epoch ms
  created_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_device_codes_expires ON oauth_device_codes (expires_at);

-- Access and refresh tokens. A refresh token is used once: rotation sets used_at; presenting a used
-- one revokes every token of its family.
CREATE TABLE IF NOT EXISTS oauth_tokens (
  id          TEXT PRIMARY KEY,               -- otk_...
  token_hash  TEXT NOT NULL UNIQUE,
  kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  family_id   TEXT NOT NULL,                  -- the device authorization it descends from
  client_id   TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  org_id      TEXT NOT NULL,
  project_id  TEXT,
  scopes      TEXT NOT NULL,                  -- JSON array of granted scopes
  expires_at  INTEGER NOT NULL,               -- epoch ms
  created_at  TEXT NOT NULL,
  used_at     TEXT,
  revoked_at  TEXT
);
CREATE INDEX IF NOT EXISTS oauth_tokens_family ON oauth_tokens (family_id);
-- The retention cron deletes expired rows (a day after expiry).
CREATE INDEX IF NOT EXISTS oauth_tokens_expires ON oauth_tokens (expires_at);
-- SPEC §9: admin events record what they changed, `{field: [before, after]}` as JSON (never a secret).
ALTER TABLE audit_events ADD COLUMN changes TEXT;
-- Project ids are unique across orgs (SPEC §8): an origin's own id names one tenant's project, so
-- no other org can take it and reach that project's routes (issue 10, item 3). The index also lets
-- the gateway find the org of a named project in one lookup. Applying this fails while two orgs
-- hold the same id; find them with
--   SELECT id, group_concat(org_id) FROM projects GROUP BY id HAVING count(*) > 1;
-- and rename or delete the squatter's project first (README "Admin API").
CREATE UNIQUE INDEX IF NOT EXISTS projects_id_uidx ON projects (id);

-- Sign-in and sign-up attempts per client and endpoint, counted in D1 so that every isolate and
-- location shares one count (src/auth/attempts.ts). A fixed window per key: `window_start` (epoch
-- ms) starts a window, `count` counts the attempts in it. The retention cron deletes old rows.
CREATE TABLE IF NOT EXISTS auth_attempts (
  key          TEXT PRIMARY KEY,
  count        INTEGER NOT NULL,
  window_start INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_attempts_window_start ON auth_attempts (window_start);
-- OAuth 2.1 for MCP and other browser-capable clients (src/oauth/authorize.ts, clients.ts): the
-- authorization-code grant with PKCE, dynamically registered clients (RFC 7591) and resource
-- indicators (RFC 8707).

-- The resource (an MCP route's URL) an access or refresh token was minted for; NULL for tokens
-- minted without one (the device flow), which MCP routes refuse.
ALTER TABLE oauth_tokens ADD COLUMN resource TEXT;

-- Clients registered at /oauth/register: public clients (no secret), identified by their kgc_ id.
-- Clients identified by a client ID metadata document URL are fetched and cached, not stored.
CREATE TABLE IF NOT EXISTS oauth_clients (
  id            TEXT PRIMARY KEY,             -- kgc_...
  client_name   TEXT,
  redirect_uris TEXT NOT NULL,                -- JSON array of https or loopback http URIs
  grant_types   TEXT NOT NULL,                -- JSON array
  created_at    TEXT NOT NULL
);

-- Authorization codes: issued after consent, exchanged once within 60 s at /oauth/token with the
-- PKCE verifier. The id is the family id of every token the code yields, so a replayed code
-- revokes them. The code itself is stored only as its SHA-256 hex digest.
CREATE TABLE IF NOT EXISTS oauth_authorization_codes (
  id             TEXT PRIMARY KEY,            -- acd_...
  code_hash      TEXT NOT NULL UNIQUE,
  client_id      TEXT NOT NULL,
  redirect_uri   TEXT NOT NULL,               -- exactly as the authorization request sent it
  code_challenge TEXT NOT NULL,               -- S256
  user_id        TEXT NOT NULL,
  org_id         TEXT NOT NULL,
  project_id     TEXT,
  scopes         TEXT NOT NULL,               -- JSON array of granted scopes
  resource       TEXT,
  expires_at     INTEGER NOT NULL,            -- epoch ms
  used_at        TEXT,
  created_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_authorization_codes_expires ON oauth_authorization_codes (expires_at);
CREATE INDEX IF NOT EXISTS oauth_authorization_codes_member ON oauth_authorization_codes (user_id, org_id);
CREATE INDEX IF NOT EXISTS oauth_device_codes_member ON oauth_device_codes (user_id, org_id);
-- MCP requests (SPEC §9, §10): the JSON-RPC method and the tool, prompt or resource it names.
ALTER TABLE audit_events ADD COLUMN mcp_method TEXT;
ALTER TABLE audit_events ADD COLUMN mcp_name TEXT;
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
-- Rate limits and monthly quotas on API keys (SPEC §11), and the limit an audit event was refused by.

ALTER TABLE api_keys ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '[]'; -- JSON array of {name, limit, window_s, cost, tier}
ALTER TABLE api_keys ADD COLUMN quota TEXT;                            -- JSON {limit, period} or NULL
-- Counters are kept under the first key of a rotation chain, so rotating never resets them.
ALTER TABLE api_keys ADD COLUMN rotation_root_id TEXT;

WITH RECURSIVE chain (id, root) AS (
  SELECT id, id FROM api_keys WHERE rotated_from IS NULL
  UNION ALL
  SELECT api_keys.id, chain.root FROM api_keys JOIN chain ON api_keys.rotated_from = chain.id
)
UPDATE api_keys SET rotation_root_id = (SELECT root FROM chain WHERE chain.id = api_keys.id);

ALTER TABLE audit_events ADD COLUMN rate_limit_policy TEXT;
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
-- Invitations are redeemed by the secret of their link (README "Invitations"), never by email
-- alone: only its SHA-256 is kept, beside better-auth's `invitations` table, so no better-auth
-- endpoint or answer can ever carry it. An invitation without a row here (made before this
-- migration, or by better-auth itself) cannot be redeemed: invite again.
CREATE TABLE IF NOT EXISTS invitation_tokens (
  invitation_id TEXT PRIMARY KEY REFERENCES invitations(id) ON DELETE CASCADE,
  token_hash    TEXT NOT NULL UNIQUE
);
