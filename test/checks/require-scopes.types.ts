/**
 * Type tests, checked by `npm run typecheck` (never run): required scopes are typed, so a typo in
 * one does not compile.
 */
import type { CatalogScope, Scope } from "../../src/core/scope-grammar";
import { requireScopes } from "../../src/checks/require-scopes";

requireScopes(["keygate:keys:write", "keygate:audit:read"]);
// @ts-expect-error a typo in Keygate's own scope
requireScopes(["keygate:keys:wrte"]);
// @ts-expect-error a catalog scope is not one of Keygate's own
requireScopes(["content:read"]);
requireScopes((c) => (c.req.method === "GET" ? ["content:read"] : ["content:write"]));

const catalog = { "content:read": "Read content", "real-prompter:project:read": "Read projects" } as const;
requireScopes<CatalogScope<typeof catalog>>(["content:read", "real-prompter:project:read"]);
// @ts-expect-error a typo in a catalog scope
requireScopes<CatalogScope<typeof catalog>>(["content:raed"]);

export const grants: Scope<typeof catalog>[] = ["*", "content:*", "real-prompter:*", "real-prompter:project:*", "content:read"];
// @ts-expect-error a wildcard over no catalog scope
export const wider: Scope<typeof catalog> = "stories:*";
