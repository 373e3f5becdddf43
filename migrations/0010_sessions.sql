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
