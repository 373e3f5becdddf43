/**
 * @module
 * SQL for dynamically registered OAuth clients (RFC 7591; migrations/0020_oauth_authorization_code.sql).
 */

export interface RegisteredClient {
  id: string;
  client_name: string | null;
  redirect_uris: string[];
  grant_types: string[];
  created_at: string;
}

type ClientRow = Omit<RegisteredClient, "redirect_uris" | "grant_types"> & { redirect_uris: string; grant_types: string };

export async function insertClient(db: D1Database, client: RegisteredClient): Promise<void> {
  await db
    .prepare(`INSERT INTO oauth_clients (id, client_name, redirect_uris, grant_types, created_at) VALUES (?, ?, ?, ?, ?)`)
    .bind(client.id, client.client_name, JSON.stringify(client.redirect_uris), JSON.stringify(client.grant_types), client.created_at)
    .run();
}

export async function findClient(db: D1Database | D1DatabaseSession, id: string): Promise<RegisteredClient | null> {
  const row = await db.prepare(`SELECT id, client_name, redirect_uris, grant_types, created_at FROM oauth_clients WHERE id = ?`).bind(id).first<ClientRow>();
  return row && { ...row, redirect_uris: JSON.parse(row.redirect_uris) as string[], grant_types: JSON.parse(row.grant_types) as string[] };
}
