import type Database from "better-sqlite3";

/**
 * An insert of any number of rows as one statement: `insert` is the statement for one row (ending in
 * its `values (…)` group), `conflict` its `on conflict …` clause. A statement is compiled once per row
 * count. Rows are applied in order, so two rows with the same key both count, as two statements would.
 * No rows: nothing runs.
 *
 * @example rowsUpsert(raw, "insert into t (k, n) values (?, 1)", "on conflict (k) do update set n = n + 1")([["a"], ["b"]])
 */
export function rowsUpsert(raw: Database.Database, insert: string, conflict: string): (rows: readonly unknown[][]) => void {
  const values = insert.lastIndexOf("values");
  if (values < 0) throw new Error(`rowsUpsert: no values group in ${insert}`);
  const head = insert.slice(0, values + "values".length);
  const group = insert.slice(values + "values".length).trim();
  const byCount = new Map<number, Database.Statement>();
  const statementFor = (count: number) => {
    let statement = byCount.get(count);
    if (!statement) {
      statement = raw.prepare(`${head} ${Array.from({ length: count }, () => group).join(", ")} ${conflict}`);
      byCount.set(count, statement);
    }
    return statement;
  };
  return (rows) => {
    if (rows.length > 0) statementFor(rows.length).run(rows.flat());
  };
}
