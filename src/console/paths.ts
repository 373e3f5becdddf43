/**
 * @module
 * Where the console lives and how its pages link to each other.
 */
export const CONSOLE_BASE = "/_keygate/console";

/** A page of one org: `/_keygate/console/<org>/<rest>`. */
export function orgPath(orgId: string, rest = ""): string {
  return `${CONSOLE_BASE}/${encodeURIComponent(orgId)}${rest}`;
}
