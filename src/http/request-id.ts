/**
 * @module
 * A fresh `x-request-id` on every response. A client's own value is never echoed: it is kept for
 * the audit event only, so clients cannot choose the id operators search by.
 */
import type { MiddlewareHandler } from "hono";
import type { KeygateEnv } from "./context";
import { newId } from "../core/ids";

export function assignRequestId(): MiddlewareHandler<KeygateEnv> {
  return async function assignRequestIdMiddleware(c, next) {
    const requestId = newId("req");
    c.set("requestId", requestId);
    await next();
    c.res.headers.set("x-request-id", requestId);
  };
}
