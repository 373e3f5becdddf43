/**
 * Reads the R2 audit archive back, independently of the Worker's reader.
 */
import type { AuditEvent } from "../../src/schemas/audit-event";

/** Every event line of every archived object (duplicates included), with the object's key. */
export async function archivedEvents(bucket: R2Bucket, prefix = "events/"): Promise<(AuditEvent & { object: string })[]> {
  const events: (AuditEvent & { object: string })[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor });
    for (const { key } of page.objects) {
      const object = await bucket.get(key);
      if (!object) continue;
      const text = await new Response(object.body.pipeThrough(new DecompressionStream("gzip"))).text();
      for (const line of text.split("\n")) if (line) events.push({ ...(JSON.parse(line) as AuditEvent), object: key });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return events;
}

/** Total rollup counts (minute and hour tables) of the given org. */
export async function rollupTotals(db: D1Database, orgId: string) {
  const sum = (table: string) =>
    db
      .prepare(`SELECT coalesce(sum(allowed), 0) AS allowed, coalesce(sum(denied), 0) AS denied, coalesce(sum(would_deny), 0) AS would_deny FROM ${table} WHERE org_id = ?`)
      .bind(orgId)
      .first<{ allowed: number; denied: number; would_deny: number }>();
  return { minute: await sum("audit_rollup_minute"), hour: await sum("audit_rollup_hour") };
}
