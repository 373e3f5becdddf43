/**
 * @module
 * Cursor pagination shared by every admin list: `limit` (default 50, at most 1000) and an opaque
 * `cursor` naming the last row of the previous page.
 */
import { z } from "zod";

export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z
    .string()
    .max(512)
    .optional()
    .transform((cursor, ctx) => {
      if (cursor === undefined) return undefined;
      const position = decodeCursor(cursor);
      if (position === undefined) ctx.addIssue({ code: "custom", message: "is not a cursor of this list" });
      return position;
    }),
});

/** One page of `rows` fetched with `limit + 1`, and the cursor of the next page (`null` at the end). */
export function page<T>(rows: T[], limit: number, positionOf: (row: T) => string): { data: T[]; next_cursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null };
}

/** The cursor that continues a list after `position`. */
export function encodeCursor(position: string): string {
  return btoa(JSON.stringify({ p: position })).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function decodeCursor(cursor: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (parsed && typeof parsed === "object" && "p" in parsed && typeof parsed.p === "string") return parsed.p;
  } catch {
    // fall through: not one of ours
  }
  return undefined;
}
