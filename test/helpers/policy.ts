import { compilePolicy } from "../../src/policy/compile";

export const CATALOG = {
  "content:read": "Read content",
  "content:write": "Write content",
  "stories:read": "Read stories",
  "stories:publish": "Publish stories",
};

export function policyWith(fields: Record<string, unknown>): Record<string, unknown> {
  return { scopes: CATALOG, routes: [{ method: "GET", path: "/a", scopes: ["content:read"] }], ...fields };
}

/** The compiled policy of `list` as its routes. */
export function routes(...list: Record<string, unknown>[]) {
  return compilePolicy(policyWith({ routes: list }));
}
