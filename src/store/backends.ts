import { Redis } from "ioredis";
import type { Config } from "../config/env.js";
import type { Limiter, Store } from "../core/ports.js";
import { createSqliteLimiter, type LimitSettings } from "../limits/limiter.js";
import { createPgLimiter, createRedisLimiter } from "../limits/shared.js";
import { migratePg, openPg } from "./pg/open.js";
import { createPgStore } from "./pg/store.js";
import { migrateSqlite, openSqlite } from "./sqlite/open.js";
import { createSqliteStore } from "./sqlite/store.js";

/**
 * Which database and which rate-limit counters the configuration selects: PostgreSQL when
 * `DATABASE_URL` is set (else the SQLite file), Redis counters when `REDIS_URL` is set (else the
 * database's own `rate_limits` table).
 */

type StoreConfig = Pick<Config, "dbPath"> & Partial<Pick<Config, "databaseUrl" | "dbPoolSize">>;

/** A password-free name of the selected database, for logs and CLI output. */
export function describeDatabase(config: StoreConfig): string {
  if (!config.databaseUrl) return config.dbPath;
  const url = new URL(config.databaseUrl);
  return `postgres://${url.host}${url.pathname}`;
}

interface OpenedStore {
  store: Store;
  /** Counters in the same database. */
  databaseLimiter(settings: LimitSettings): Limiter;
}

/** Opens and migrates the selected database. */
export async function openConfiguredStore(config: StoreConfig): Promise<OpenedStore> {
  if (config.databaseUrl) {
    const opened = openPg(config.databaseUrl, { poolSize: config.dbPoolSize });
    try {
      await migratePg(opened.pool);
    } catch (err) {
      await opened.pool.end();
      throw err;
    }
    return { store: createPgStore(opened), databaseLimiter: (settings) => createPgLimiter(opened.pool, settings) };
  }
  const sqlite = openSqlite(config.dbPath);
  migrateSqlite(sqlite.db); // before the store prepares its statements, which need the tables
  return { store: createSqliteStore(sqlite), databaseLimiter: (settings) => createSqliteLimiter(sqlite.raw, settings) };
}

export interface Backends {
  store: Store;
  limiter: Limiter;
  close(): Promise<void>;
}

export async function openBackends(
  config: StoreConfig & Pick<Config, "redisUrl" | "redisPrefix">,
  settings: LimitSettings,
): Promise<Backends> {
  const { store, databaseLimiter } = await openConfiguredStore(config);
  if (!config.redisUrl) return { store, limiter: databaseLimiter(settings), close: () => store.close() };
  // No offline queue: while Redis is unreachable a limit check fails at once (503) instead of hanging.
  const redis = new Redis(config.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    keyPrefix: config.redisPrefix,
  });
  redis.on("error", () => {}); // reconnects by itself; checks answer limiter_unavailable meanwhile
  await new Promise<void>((resolve) => {
    redis.once("ready", resolve);
    redis.once("error", () => resolve());
  });
  return {
    store,
    limiter: createRedisLimiter(redis, settings),
    async close() {
      redis.disconnect();
      await store.close();
    },
  };
}
