import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { isSingleExecutable, loadEmbeddedSqliteAddon } from "../../sea.js";
import { migrationsFolder } from "../migrations-folder.js";
import * as schema from "./schema.js";

export type SqliteDb = BetterSQLite3Database<typeof schema>;

/** The SQLite migrations (`drizzle/sqlite`, see migrations-folder.ts). */
export function sqliteMigrationsFolder(): string {
  return migrationsFolder("sqlite");
}

export interface OpenedSqlite {
  raw: Database.Database;
  db: SqliteDb;
}

/**
 * Opens (creating the folder if needed) a SQLite database tuned for a small write-heavy service:
 * WAL so readers never wait for the writer, a busy timeout so a second process waits instead of
 * failing, NORMAL sync (durable at each WAL checkpoint; safe against process crashes).
 */
export function openSqlite(path: string): OpenedSqlite {
  if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
  // The typings only allow a path, but better-sqlite3 also takes the loaded addon object (see sea.ts).
  const options = isSingleExecutable() ? ({ nativeBinding: loadEmbeddedSqliteAddon() } as unknown as Database.Options) : {};
  const raw = new Database(path, options);
  raw.pragma("journal_mode = WAL");
  raw.pragma("busy_timeout = 5000");
  raw.pragma("synchronous = NORMAL");
  raw.pragma("foreign_keys = ON");
  return { raw, db: drizzle(raw, { schema }) };
}

/** Applies pending migrations; safe to run on every start and from several processes. */
export function migrateSqlite(db: SqliteDb, migrationsFolder: string = sqliteMigrationsFolder()): void {
  migrate(db, { migrationsFolder });
}

/**
 * Drops the samples ANALYZE (or `PRAGMA optimize`) leaves in `sqlite_stat4`, keeping the per-index
 * row counts of `sqlite_stat1`, and has the connection reload them. This build of SQLite (better-
 * sqlite3's, with SQLITE_ENABLE_STAT4) recompiles a statement before every run whose bound values
 * its plan looked up in those samples: on an analyzed 5 M-row file, the pending lookup of every
 * start cost 24 µs instead of 4, and starts ran at 0.65–0.88× of an empty file's rate (1.09× without).
 * verifyd's statements are planned, and tested, as on a fresh file, which has no samples.
 */
export function dropPlannerSamples(raw: Database.Database): boolean {
  const hasTable = raw.prepare("select 1 from sqlite_schema where type = 'table' and name = 'sqlite_stat4'").get();
  if (!hasTable || raw.prepare("select 1 from sqlite_stat4 limit 1").get() === undefined) return false;
  raw.exec("delete from sqlite_stat4; analyze sqlite_schema");
  return true;
}
