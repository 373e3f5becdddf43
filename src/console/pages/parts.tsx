/** @jsxImportSource hono/jsx */
/**
 * @module
 * Pieces several console pages use: unwrapping admin API answers, key state badges, the project
 * filter, cursor paging and the rendering of API errors.
 */
import { keyStates } from "../../schemas/key-state";
import type { KeyRecord } from "../../schemas/key";
import type { ApiResult } from "../api";
import type { ProjectItem } from "../context";
import { Notice } from "../layout";

/** An admin API error the console cannot handle in place; the console's error page renders it. */
export class ApiFailure extends Error {
  constructor(readonly result: Extract<ApiResult<unknown>, { ok: false }>) {
    super(`${result.code}: ${result.message}`);
  }
}

/** The data of a successful answer. @throws {ApiFailure} otherwise. */
export function unwrap<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new ApiFailure(result);
  return result.data;
}

const STATE_LABELS: Record<string, string> = { grace: "rotation grace", report: "report mode" };

export function KeyStates(props: { record: Pick<KeyRecord, "revoked_at" | "expires_at" | "rotated_to" | "restrictions_mode" | "last_used_at" | "created_at"> }) {
  return (
    <>
      {keyStates(props.record).map((state) => (
        <span class={`badge s-${state}`}>{STATE_LABELS[state] ?? state}</span>
      ))}
    </>
  );
}

export function ProjectFilter(props: { projects: ProjectItem[]; selected: string | undefined; name?: string; label?: string }) {
  return (
    <label>
      {props.label ?? "Project"}
      <select name={props.name ?? "project_id"}>
        <option value="">all projects</option>
        {props.projects.map((project) => (
          <option value={project.id} selected={project.id === props.selected}>{`${project.name} (${project.id})`}</option>
        ))}
      </select>
    </label>
  );
}

/** "Next page" when there is one; the URL keeps the current filters. */
export function Pager(props: { url: URL; nextCursor: string | null | undefined }) {
  const first = new URL(props.url);
  first.searchParams.delete("cursor");
  const next = new URL(props.url);
  if (props.nextCursor) next.searchParams.set("cursor", props.nextCursor);
  return (
    <nav class="pager" aria-label="Pages">
      {props.url.searchParams.has("cursor") && (
        <a class="button secondary" href={`${first.pathname}${first.search}`}>
          First page
        </a>
      )}
      {props.nextCursor && (
        <a class="button secondary" href={`${next.pathname}${next.search}`}>
          Next page
        </a>
      )}
    </nav>
  );
}

/** What the admin API refused, with each input issue. */
export function ApiErrorNotice(props: { result: Extract<ApiResult<unknown>, { ok: false }> }) {
  const issues = (props.result.details?.issues as { path: string; message: string }[] | undefined) ?? [];
  const missing = (props.result.details?.missingScopes as string[] | undefined) ?? [];
  const reason = props.result.details?.reason as string | undefined;
  return (
    <Notice kind="error">
      <strong>{`${props.result.status} ${props.result.code}: ${props.result.message}`}</strong>
      {reason && <p>{reason}</p>}
      {missing.length > 0 && <p>{`Missing scopes: ${missing.join(", ")}`}</p>}
      {issues.length > 0 && (
        <ul>
          {issues.map((issue) => (
            <li>{`${issue.path}: ${issue.message}`}</li>
          ))}
        </ul>
      )}
    </Notice>
  );
}
