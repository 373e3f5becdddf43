/**
 * @module
 * The zod schemas of SPEC §3's scope grammar (../core/scope-grammar.ts), for the policy schema and
 * admin inputs.
 */
import { z } from "zod";
import { SCOPE_PATTERN, WILDCARD_PATTERN } from "../core/scope-grammar";

export const ScopeSchema = z.string().regex(SCOPE_PATTERN, "must be 2 or 3 segments of [a-z0-9][a-z0-9_-]* joined by ':'");

export const ScopeOrWildcardSchema = z
  .string()
  .refine((s) => SCOPE_PATTERN.test(s) || WILDCARD_PATTERN.test(s), "is neither a scope nor a wildcard (`*`, `prefix:*`)");
