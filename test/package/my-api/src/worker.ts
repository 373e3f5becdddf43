/**
 * Another team's Worker: its own routes, behind Keygate's checks in the same Worker (no second
 * hop). README "keygate/hono" shows this file.
 */
import { Hono } from "hono";
import { createKeygate, type KeygateVariables } from "keygate/hono";
import policy from "../policy.json";

const { keygate, requireScopes } = createKeygate({ policy });

const app = new Hono<{ Bindings: Env; Variables: KeygateVariables }>();

// Every /api request: the policy's route, the credential, its restrictions, project and route
// scopes; then one audit event, whatever the handler answers.
app.use("/api/*", keygate);

app.get("/api/stories", requireScopes("stories:read"), (c) => c.json({ stories: [], identity: c.var.identity }));
app.post("/api/stories", requireScopes("stories:write"), (c) => c.json({ created: true, by: c.var.identity.keyId }, 201));
app.get("/api/projects/:id", (c) => c.json({ project: c.req.param("id"), identity: c.var.identity }));
app.get("/api/health", (c) => c.json({ ok: true }));
// Not in the policy: keygate() answers 404 `no route` before this handler runs.
app.get("/api/unlisted", (c) => c.json({ reached: true }));

// @ts-expect-error "stories:reed" is not in the policy's catalog: a typo does not compile
requireScopes("stories:reed");

export default app;
