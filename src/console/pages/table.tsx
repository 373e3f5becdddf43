/** @jsxImportSource hono/jsx */
/**
 * @module
 * The one table of the console: a header row from the columns, a row per item, a cell per column,
 * and optionally a row saying that there is nothing to show. Every page's table is this one, so
 * they look and read the same.
 */
import type { Child } from "hono/jsx";

/** One column: its header and how to render a row's cell. */
export interface Column<Row> {
  header: string;
  /** The class of the column's cells (`num` right-aligns, `mono` for ids, `small`). */
  class?: string;
  /** The class of the header cell, when it has one. */
  headerClass?: string;
  cell: (row: Row) => Child;
}

export interface TableProps<Row> {
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  /** With no rows, one muted row spanning every column says this. */
  empty?: string;
  /** Attributes of a row's `<tr>` (`data-id`, …). */
  rowAttributes?: (row: Row) => Record<string, string>;
  /** The `<tbody>`'s id, for scripts that add rows (the audit log's live tail). */
  bodyId?: string;
  class?: string;
  /** Wrapped in a horizontally scrolling box (default); a table nested in a cell is not. */
  scroll?: boolean;
}

/**
 * @example <Table columns={[{ header: "name", cell: (m) => m.name }]} rows={members} empty="No members." />
 */
export function Table<Row>(props: TableProps<Row>) {
  const table = (
    <table class={props.class}>
      <thead>
        <tr>
          {props.columns.map((column) => (
            <th class={column.headerClass}>{column.header}</th>
          ))}
        </tr>
      </thead>
      <tbody id={props.bodyId}>
        {props.rows.length === 0 && props.empty !== undefined && (
          <tr>
            <td colspan={props.columns.length} class="muted">
              {props.empty}
            </td>
          </tr>
        )}
        {props.rows.map((row) => (
          <tr {...props.rowAttributes?.(row)}>
            {props.columns.map((column) => (
              <td class={column.class}>{column.cell(row)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
  return props.scroll === false ? table : <div class="scroll">{table}</div>;
}
