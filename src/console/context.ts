/**
 * @module
 * What console handlers share: the admin API client, the org the page is for and the user's orgs,
 * and the shapes of the admin API's answers the pages read.
 */
import type { Context } from "hono";
import { ROLE_SCOPES } from "../admin/session-role";
import type { Bindings } from "../env";
import type { KeygateEnv } from "../http/context";
import type { KeyRecord } from "../schemas/key";
import type { ConsoleApi } from "./api";
import type { OrgChoice } from "./layout";

export interface ConsoleEnv {
  Bindings: Bindings;
  Variables: KeygateEnv["Variables"] & {
    api: ConsoleApi;
    /** The org of an org page (`/_keygate/console/<org>/…`). */
    org: OrgChoice;
    orgs: OrgChoice[];
  };
}

export type ConsoleContext = Context<ConsoleEnv>;

/** A key as `GET /keys` lists it. */
export type ListedKey = KeyRecord & { requests_24h?: number };

export interface SummaryGroup {
  value: string | null;
  count: number;
}

export interface ProjectItem {
  id: string;
  name: string;
}

export interface ScopeCatalog {
  scopes: Record<string, string>;
  wildcards: Record<string, string>;
  presets: Record<string, string[]>;
  keygate: Record<string, string>;
}

/** Whether the user's role in the page's org lets them change keys (the admin API decides; this only hides buttons). */
export function canWrite(c: ConsoleContext): boolean {
  return c.var.org.role.split(",").some((role) => ROLE_SCOPES[role.trim()]?.includes("keygate:keys:write"));
}
