import { getTableColumns, type InferSelectModel } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";

/**
 * A table's columns for a hand-written statement that returns rows as drizzle's query builder
 * does: `list` names every column by its key (`to_number as "to"`), and `decode` turns what the
 * driver hands back as text or 0/1 (the JSON and boolean columns) into what drizzle's row holds.
 * Derived from the schema, so a column added there joins these statements by itself.
 */
export function rowColumns<T extends SQLiteTable>(table: T) {
  const all = Object.entries(getTableColumns(table));
  const list = all.map(([key, column]) => `${column.name} as "${key}"`).join(", ");
  const decoded = all.filter(([, column]) => column.dataType === "json" || column.dataType === "boolean");
  return {
    list,
    decode(row: unknown): InferSelectModel<T> {
      const r = row as Record<string, unknown>;
      for (const [key, column] of decoded) if (r[key] !== null) r[key] = column.mapFromDriverValue(r[key]);
      return r as InferSelectModel<T>;
    },
  };
}
