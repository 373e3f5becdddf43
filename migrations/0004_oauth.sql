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
