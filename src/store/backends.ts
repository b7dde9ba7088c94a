import { resolveSecret } from "../bootstrap.js";
import type { Config } from "../config/env.js";
import type { LimitSettings } from "../config/limits.js";
import { createNumberVault, type NumberVault } from "../core/number-vault.js";
import type { Limiter } from "../core/ports.js";
import type { ConversionStore } from "../core/store/conversion.js";
import type { Store } from "../core/store/index.js";
import { isSingleExecutable } from "../sea.js";
import { type CheckpointSettings, startCheckpointer } from "./sqlite/checkpointer.js";
import { createSqliteConversionStore } from "./sqlite/conversion.js";
import { groupCommitFor, withGroupCommit } from "./sqlite/group-commit.js";
import { createSqliteLimiter } from "./sqlite/limiter.js";
import { dropPlannerSamples, migrateSqlite, type OpenedSqlite, openSqlite } from "./sqlite/open.js";
import { lockForServing, type ServeLock } from "./sqlite/serve-lock.js";
import { createSqliteStore } from "./sqlite/store.js";
import { groupUnits } from "./sqlite/unit.js";
import { ensureSealed } from "./sqlite/vault-state.js";

/**
 * Which database and which rate-limit counters the configuration selects: PostgreSQL when
 * `DATABASE_URL` is set (else the SQLite file), Redis counters when `REDIS_URL` is set (else the
 * database's own `rate_limits` table). Either database keeps numbers sealed (docs/security.md, Data at rest).
 * The PostgreSQL and Redis modules (drivers, store, counters) are imported only when selected: loading
 * them costs start-up time and memory on every SQLite deployment.
 */

export type StoreConfig = Pick<Config, "dbPath" | "secret"> & Partial<Pick<Config, "databaseUrl" | "dbPoolSize">>;

/** What only a serving process runs beside its SQLite connection (the CLI's short-lived commands do not). */
export interface ServingOptions {
  checkpoint?: CheckpointSettings;
  /** A background task of the store failed (it falls back to doing the work inline). */
  onBackgroundFailure?: (what: string, err: unknown) => void;
}

/**
 * Claims the SQLite file for this server (see serve-lock.ts); throws `StartupError` when another
 * process serves it. PostgreSQL is meant to be shared by many instances: nothing to claim.
 */
export function lockDatabaseForServing(config: Pick<StoreConfig, "dbPath" | "databaseUrl">): ServeLock | null {
  return config.databaseUrl ? null : lockForServing(config.dbPath);
}

/** A password-free name of the selected database, for logs and CLI output. */
export function describeDatabase(config: Pick<StoreConfig, "dbPath" | "databaseUrl">): string {
  if (!config.databaseUrl) return config.dbPath;
  const url = new URL(config.databaseUrl);
  return `postgres://${url.host}${url.pathname}`;
}

export interface OpenedStore {
  store: Store;
  conversion: ConversionStore;
  vault: NumberVault;
  /** Counters in the same database. */
  databaseLimiter(settings: LimitSettings): Limiter;
}

/**
 * Opens and migrates the selected database and checks that its numbers are sealed with this
 * secret (`VaultKeyMismatchError` otherwise); SQLite rows from versions before sealing are sealed here.
 */
export async function openConfiguredStore(
  config: StoreConfig,
  now: number = Date.now(),
  serving: ServingOptions = {},
): Promise<OpenedStore> {
  const vault = createNumberVault(resolveSecret(config));
  if (config.databaseUrl) {
    const [{ migratePg, openPg }, { ensurePgKey }, { createPgStore }, { createPgConversionStore }, { createPgLimiter }] =
      await Promise.all([
        import("./pg/open.js"),
        import("./pg/vault-state.js"),
        import("./pg/store.js"),
        import("./pg/conversion.js"),
        import("./pg/limiter.js"),
      ]);
    const opened = openPg(config.databaseUrl, { poolSize: config.dbPoolSize });
    try {
      await migratePg(opened.pool);
      await ensurePgKey(opened.db, vault, now);
    } catch (err) {
      await opened.pool.end();
      throw err;
    }
    return {
      store: createPgStore(opened, vault),
      conversion: createPgConversionStore(opened, vault),
      vault,
      databaseLimiter: (settings) => createPgLimiter(opened.pool, settings, vault),
    };
  }
  const sqlite = openSqlite(config.dbPath);
  try {
    migrateSqlite(sqlite.db); // before the store prepares its statements, which need the tables
    dropPlannerSamples(sqlite.raw);
    ensureSealed(sqlite.raw, vault, now);
  } catch (err) {
    sqlite.raw.close();
    throw err;
  }
  const checkpointer =
    serving.checkpoint && !isSingleExecutable()
      ? startCheckpointer(sqlite.raw, config.dbPath, serving.checkpoint, (err) =>
          serving.onBackgroundFailure?.("wal checkpoint worker", err),
        )
      : null;
  return sqliteStores(sqlite, vault, checkpointer?.stop);
}

/**
 * The stores and counters of one SQLite connection, all in its group commit (sqlite/group-commit.ts).
 *
 * What joins it: every operation of the Store and of the conversion store (by name, `close` and
 * `readiness` excepted: they commit the open batch first and run outside it), and the rate-limit
 * counters' upserts: rate-limiter-flexible runs each as `transaction(…)`, which the limiter's
 * connection wrapper (sqlite/limiter.ts) turns into a join. Everything started in one turn of the
 * event loop writes inside one `BEGIN IMMEDIATE` transaction, committed when the turn ends; each
 * operation stays atomic on its own (its transaction becomes a savepoint, so one that fails rolls
 * back alone).
 *
 * Every store operation settles only after the commit that holds its writes, reads included: a read
 * may have seen a write of the open batch, and nobody may act on a write that could still be rolled
 * back, so no response reports a write a crash could lose. (The limiter's answers do not wait for
 * the commit.) Why batch at all: a commit writes every page its transaction dirtied to the WAL, and
 * the ten-odd small operations of a start rewrite the same few index pages; shared by the requests
 * in flight, those pages are written once per turn instead of once per operation.
 *
 * `store.unit(work)` (sqlite/unit.ts) lets a request's operations on the store and the conversion
 * store settle without a commit each: the unit as a whole settles after the one commit that holds
 * them all, so a start or a check waits for one commit where it waited for one per operation.
 */
export function sqliteStores(sqlite: OpenedSqlite, vault: NumberVault, beforeClose?: () => Promise<void>): OpenedStore {
  const group = groupCommitFor(sqlite.raw);
  const store = createSqliteStore(sqlite, vault);
  if (beforeClose) {
    // The checkpoint worker's connection closes first, so the serving one is the last and removes the WAL.
    const close = store.close;
    store.close = async () => {
      await beforeClose();
      await close();
    };
  }
  return {
    store: withGroupCommit(store, group, groupUnits),
    conversion: withGroupCommit(createSqliteConversionStore(sqlite, vault), group),
    vault,
    // Joins `group` through its connection wrapper (groupCommitFor returns this connection's one group).
    databaseLimiter: (settings) => createSqliteLimiter(sqlite.raw, settings, vault),
  };
}

export interface Backends {
  store: Store;
  conversion: ConversionStore;
  limiter: Limiter;
  close(): Promise<void>;
}

export async function openBackends(
  config: StoreConfig & Pick<Config, "redisUrl" | "redisPrefix">,
  settings: LimitSettings,
  now?: number,
  serving?: ServingOptions,
): Promise<Backends> {
  const { store, conversion, vault, databaseLimiter } = await openConfiguredStore(config, now, serving);
  if (!config.redisUrl) return { store, conversion, limiter: databaseLimiter(settings), close: () => store.close() };
  // Through the default export (module.exports): once bundled, a CommonJS package imported on demand
  // has no named exports.
  const [{ default: ioredis }, { createRedisLimiter }] = await Promise.all([import("ioredis"), import("./redis/limiter.js")]);
  const { Redis } = ioredis;
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
    conversion,
    limiter: createRedisLimiter(redis, settings, vault),
    async close() {
      redis.disconnect();
      await store.close();
    },
  };
}
