/**
 * @module
 * The isolate's caches of API keys and of project existence (memory → KV → D1), which the checks
 * read and the admin API drops entries from when it changes a key or creates a project.
 */
import { z } from "zod";
import { TieredCache } from "../cache/tiered";
import { type ActiveKey, compileKey, type KeyState, KeyStateSchema } from "../caller/active-key";

/** API keys by SHA-256 hex digest. */
export const keyCache = new TieredCache<KeyState, ActiveKey>({ namespace: "key", maxEntries: 10_000, schema: KeyStateSchema, compile: compileKey });

/** Project existence by {@link projectCacheId}. */
export const projectCache = new TieredCache<true, true>({ namespace: "project", maxEntries: 10_000, schema: z.literal(true), compile: () => true });

export function projectCacheId(orgId: string, projectId: string): string {
  return `${orgId}/${projectId}`;
}
