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
