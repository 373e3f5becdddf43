-- Invitations are redeemed by the secret of their link (README "Invitations"), never by email
-- alone: only its SHA-256 is kept, beside better-auth's `invitations` table, so no better-auth
-- endpoint or answer can ever carry it. An invitation without a row here (made before this
-- migration, or by better-auth itself) cannot be redeemed: invite again.
CREATE TABLE IF NOT EXISTS invitation_tokens (
  invitation_id TEXT PRIMARY KEY REFERENCES invitations(id) ON DELETE CASCADE,
  token_hash    TEXT NOT NULL UNIQUE
);
