/**
 * @module
 * SQL for `auth_attempts`: fixed-window counters of sign-in, sign-up and code-entry attempts.
 */

export interface AttemptWindow {
  /** Attempts in the current window, this one included. */
  count: number;
  /** Epoch ms the current window started. */
  windowStart: number;
}

/**
 * Counts one attempt against `key` in one statement (so concurrent attempts in any isolate are all
 * counted): a window older than `windowMs` starts over at 1.
 */
export async function countAttempt(db: D1Database, key: string, windowMs: number, now: number): Promise<AttemptWindow> {
  const row = await db
    .prepare(
      `INSERT INTO auth_attempts (key, count, window_start) VALUES (?1, 1, ?2)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN window_start <= ?2 - ?3 THEN 1 ELSE count + 1 END,
         window_start = CASE WHEN window_start <= ?2 - ?3 THEN ?2 ELSE window_start END
       RETURNING count, window_start AS windowStart`,
    )
    .bind(key, now, windowMs)
    .first<AttemptWindow>();
  return row!;
}

/** Deletes counters whose window started before `before` (epoch ms); returns how many. */
export async function deleteAttemptsBefore(db: D1Database, before: number): Promise<number> {
  const result = await db.prepare(`DELETE FROM auth_attempts WHERE window_start < ?`).bind(before).run();
  return result.meta.changes;
}
