import { readFileSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type { ReadinessCheck } from "../../core/model.js";
import { sqliteMigrationsFolder } from "./open.js";

/**
 * The SQLite store's readiness: a write lock can be taken (a read-only mount, a full or locked
 * file fail here, not on the first verification) and the schema has every migration this build ships.
 */
export function sqliteReadiness(raw: Database.Database, migrationsFolder?: string): ReadinessCheck[] {
  return [writable(raw), migrations(raw, migrationsFolder ?? sqliteMigrationsFolder())];
}

function writable(raw: Database.Database): ReadinessCheck {
  try {
    // A real write (a table) in a transaction that is rolled back: nothing reaches the file.
    raw.exec("BEGIN IMMEDIATE");
    try {
      raw.exec("CREATE TABLE main.verifyd_readiness_probe (x)");
    } finally {
      raw.exec("ROLLBACK");
    }
    return { name: "database_writable", ok: true };
  } catch (err) {
    return { name: "database_writable", ok: false, detail: `the database refuses writes (${(err as Error).message})` };
  }
}

function migrations(raw: Database.Database, folder: string): ReadinessCheck {
  try {
    const journal = JSON.parse(readFileSync(join(folder, "meta/_journal.json"), "utf8")) as { entries: unknown[] };
    const expected = journal.entries.length;
    const { applied } = raw.prepare("select count(*) as applied from __drizzle_migrations").get() as { applied: number };
    if (applied >= expected) return { name: "migrations", ok: true };
    return { name: "migrations", ok: false, detail: `${applied} of ${expected} migrations applied` };
  } catch (err) {
    return { name: "migrations", ok: false, detail: `cannot compare migrations (${(err as Error).message})` };
  }
}
