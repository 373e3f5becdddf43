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
