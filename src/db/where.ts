/**
 * @module
 * WHERE clauses of only the filters a request gives. `(?1 IS NULL OR col = ?1)` would keep SQLite
 * from using an index; a clause built of the present filters lets it.
 */

/** A condition and the values of its `?` placeholders, or `undefined` to leave it out. */
export type Condition = readonly [sql: string, ...values: unknown[]] | undefined;

export interface Where {
  sql: string;
  values: unknown[];
}

/** `WHERE a = ?1 AND b < ?2` and its values, numbering the placeholders from `?1`. */
export function whereOf(conditions: readonly Condition[]): Where {
  const clauses: string[] = [];
  const values: unknown[] = [];
  for (const condition of conditions) {
    if (condition === undefined) continue;
    const [sql, ...params] = condition;
    let next = 0;
    clauses.push(
      sql.replace(/\?/g, () => {
        values.push(params[next++]);
        return `?${values.length}`;
      }),
    );
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", values };
}

/** A condition on one value, only when the value is given. */
export function when(sql: string, value: unknown): Condition {
  return value === undefined ? undefined : [sql, value];
}
