import { type SQL, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";

/**
 * `column = 'value'` with the value written into the SQL rather than bound. SQLite uses a partial
 * index (`… where status = 'pending'`) only when the query states that same literal: bound as a
 * parameter, the due-delivery, due-event and expiry scans and the one-pending lookup read whole
 * tables (or a wider index) instead of the few live rows.
 */
export function statusIs(column: AnySQLiteColumn, value: "pending" | "queued" | "sending"): SQL {
  return sql`${column} = ${sql.raw(`'${value}'`)}`;
}
