import { createHash } from "node:crypto";
import { type SQL, sql } from "drizzle-orm";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import { migrationsFolder } from "../migrations-folder.js";
import * as schema from "./schema.js";

export type PgDb = NodePgDatabase<typeof schema>;
export type PgTx = Parameters<Parameters<PgDb["transaction"]>[0]>[0];
/** The pool or an open transaction: the operations' statements run on either. */
export type PgExec = PgDb | PgTx;

/** The PostgreSQL migrations (`drizzle/pg`, see migrations-folder.ts). */
export function pgMigrationsFolder(): string {
  return migrationsFolder("pg");
}

export interface OpenedPg {
  pool: pg.Pool;
  db: PgDb;
}

/** Opens a connection pool (no connection is made until the first query). */
export function openPg(url: string, options: { poolSize?: number } = {}): OpenedPg {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // A dropped idle connection is replaced on the next checkout; without a listener it would crash the process.
  pool.on("error", () => {});
  return { pool, db: drizzle(pool, { schema }) };
}

/** An arbitrary 64-bit key naming verifyd's migration lock. */
const MIGRATION_LOCK = 7_318_204_117n;

/**
 * Applies pending migrations under a session advisory lock, so replicas starting together
 * migrate one after another instead of racing on the same DDL.
 */
export async function migratePg(pool: pg.Pool, migrationsFolder: string = pgMigrationsFolder()): Promise<void> {
  const client = await pool.connect();
  try {
    const db = drizzle(client, { schema });
    await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      await migrate(db, { migrationsFolder });
    } finally {
      await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  } finally {
    client.release();
  }
}

/** The rows of a raw statement. Its `bigint` columns arrive as strings: cast counts to int, or convert. */
export async function rows<T>(exec: PgExec, query: ReturnType<typeof sql>): Promise<T[]> {
  return (await exec.execute(query)).rows as T[];
}

const dialect = new PgDialect();
const names = new Map<string, string>();

/**
 * As `rows`, on the pool, as a named statement: PostgreSQL parses and plans it once per connection
 * instead of on every call. For the statements every start and check runs; the name is derived
 * from the SQL text, so each shape of a statement (a different number of keys, say) gets its own.
 */
export async function namedRows<T>(pool: pg.Pool, query: SQL): Promise<T[]> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  let name = names.get(text);
  if (name === undefined) {
    name = `verifyd_${createHash("sha256").update(text).digest("base64url").slice(0, 24)}`;
    // A statement built with values inlined would add a name per value: only bounded shapes are kept.
    if (names.size < 1000) names.set(text, name);
  }
  return (await pool.query({ name, text, values: params as unknown[] })).rows as T[];
}
