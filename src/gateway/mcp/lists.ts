/**
 * @module
 * Filtering of list results (SPEC §10): `tools/list`, `prompts/list`, `resources/list` and
 * `resources/templates/list` answer only what the caller may use. An entry the gateway cannot
 * name (not an object, no string name) is dropped: what it cannot check, it does not show.
 */
import { isObject } from "./jsonrpc";
import type { McpTargetKind } from "../../policy/mcp-rules";

/** Where a list result keeps its entries, and which field of an entry the policy names. */
export interface ListShape {
  field: string;
  key: string;
  kind: McpTargetKind;
}

export const LIST_SHAPES = {
  "tools/list": { field: "tools", key: "name", kind: "tools" },
  "prompts/list": { field: "prompts", key: "name", kind: "prompts" },
  "resources/list": { field: "resources", key: "uri", kind: "resources" },
  "resources/templates/list": { field: "resourceTemplates", key: "uriTemplate", kind: "resources" },
} as const satisfies Record<string, ListShape>;

/** Whether the caller may use the tool, prompt or resource `name`. */
export type MayUse = (kind: McpTargetKind, name: string) => boolean;

/** The list shape of a method, `undefined` for methods whose results are not filtered. */
export function listShapeOf(method: string | undefined): ListShape | undefined {
  return method !== undefined && Object.hasOwn(LIST_SHAPES, method) ? LIST_SHAPES[method as keyof typeof LIST_SHAPES] : undefined;
}

/**
 * Which list results a filter looks for. Responses are not picked by id: the client chooses the
 * id and origins may echo it normalized (a lone surrogate as U+FFFD), so an id match would let a
 * list through unfiltered.
 */
export interface ListFilter {
  /** The shapes to look for in a result. */
  shapes: readonly ListShape[];
  mayUse: MayUse;
}

/**
 * `message` with the entries the caller may not use removed from its list result.
 * @returns `undefined` when the message is not a response the filter applies to or nothing was
 *   removed, so the caller can leave the original bytes untouched
 */
export function filterListResponse(message: unknown, filter: ListFilter): unknown {
  if (!isObject(message) || !isObject(message.result)) return undefined;
  let result: Record<string, unknown> | undefined;
  for (const shape of filter.shapes) {
    const entries = message.result[shape.field];
    if (!Array.isArray(entries)) continue;
    const kept = entries.filter((entry) => {
      const name = isObject(entry) ? entry[shape.key] : undefined;
      return typeof name === "string" && filter.mayUse(shape.kind, name);
    });
    if (kept.length < entries.length) result = { ...(result ?? message.result), [shape.field]: kept };
  }
  return result && { ...message, result };
}
