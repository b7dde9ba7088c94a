import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { ReadinessCheck } from "../../core/model.js";
import { type PgDb, pgMigrationsFolder, rows } from "./open.js";

/**
 * The PostgreSQL store's readiness, as SQLite's: a write can be made (a read-only standby or a
 * revoked grant fails here, not on the first verification) and every migration this build ships is applied.
 */
export async function pgReadiness(db: PgDb, migrationsFolder: string = pgMigrationsFolder()): Promise<ReadinessCheck[]> {
  return [await writable(db), await migrations(db, migrationsFolder)];
}

/** Thrown inside the probe's transaction so that it rolls back: nothing is ever written. */
class ProbeRollback extends Error {}

async function writable(db: PgDb): Promise<ReadinessCheck> {
  try {
    await db.transaction(async (tx) => {
      await tx.execute(sql`create table verifyd_readiness_probe (x int)`);
      throw new ProbeRollback();
    });
    return { name: "database_writable", ok: false, detail: "the probe was not rolled back" };
  } catch (err) {
    if (err instanceof ProbeRollback) return { name: "database_writable", ok: true };
    return { name: "database_writable", ok: false, detail: `the database refuses writes (${(err as Error).message})` };
  }
}

async function migrations(db: PgDb, folder: string): Promise<ReadinessCheck> {
  try {
    const journal = JSON.parse(readFileSync(join(folder, "meta/_journal.json"), "utf8")) as { entries: unknown[] };
    const expected = journal.entries.length;
    // drizzle's PostgreSQL migrator records applied migrations in drizzle.__drizzle_migrations.
    const [r] = await rows<{ applied: number }>(db, sql`select count(*)::int as applied from drizzle.__drizzle_migrations`);
    const applied = r?.applied ?? 0;
    if (applied >= expected) return { name: "migrations", ok: true };
    return { name: "migrations", ok: false, detail: `${applied} of ${expected} migrations applied` };
  } catch (err) {
    return { name: "migrations", ok: false, detail: `cannot compare migrations (${(err as Error).message})` };
  }
}
