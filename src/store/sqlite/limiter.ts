import type BetterSqlite3 from "better-sqlite3";
import { RateLimiterSQLite } from "rate-limiter-flexible";
import type { LimitSettings } from "../../config/limits.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { Limiter } from "../../core/ports.js";
import { createFlexibleLimiter } from "../../limits/limiter.js";
import { type GroupCommit, groupCommitFor } from "./group-commit.js";

/**
 * The connection as rate-limiter-flexible sees it, for the SQL it still runs itself: the sweep of
 * expired rows (the counters' own calls are GroupCommittedSQLiteLimiter's, below). The library
 * prepares its SQL on every call; its statements are handed to it prepared once instead.
 */
function limiterConnection(db: BetterSqlite3.Database): BetterSqlite3.Database {
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepare = (source: string) => {
    let statement = statements.get(source);
    if (!statement) {
      statement = db.prepare(source);
      statements.set(source, statement);
    }
    return statement;
  };
  const bound = new Map<PropertyKey, unknown>(); // methods bound once, not on every access
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return prepare;
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (!bound.has(property)) bound.set(property, value.bind(target));
      return bound.get(property);
    },
  });
}

interface CounterRow {
  points: number;
  expire: number | null;
}

/**
 * rate-limiter-flexible's SQLite limiter with its three storage calls (the store hooks its own
 * limiters implement: `_upsert`, `_get`, `_delete`) run as statements prepared once, synchronously,
 * in the connection's group commit. The library's own versions build the SQL text and go through
 * three async functions and a connection acquire on every call: with four counts a start, that was
 * more than the upserts themselves. The statements, their conditions and what they return are the
 * library's (rate-limiter-flexible 11, lib/RateLimiterSQLite.js); everything else (windows,
 * blocks, the in-memory block, the expired-row sweep) is the library's own code.
 */
class GroupCommittedSQLiteLimiter extends RateLimiterSQLite {
  readonly #statements: ReturnType<typeof counterStatements>;
  readonly #group: GroupCommit;

  constructor(opts: ConstructorParameters<typeof RateLimiterSQLite>[0], raw: BetterSqlite3.Database) {
    super(opts);
    this.#statements = counterStatements(raw, opts.tableName ?? "rate_limits");
    this.#group = groupCommitFor(raw);
  }

  _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false): Promise<CounterRow> {
    const now = Date.now();
    const expire = msDuration > 0 ? now + msDuration : null;
    try {
      this.#group.join();
      const row = forceExpire
        ? this.#statements.replace.get(rlKey, points, expire)
        : this.#statements.upsert.get(rlKey, points, expire, now, now);
      return Promise.resolve(row as CounterRow);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  _get(rlKey: string): Promise<CounterRow | null> {
    try {
      return Promise.resolve((this.#statements.get.get(rlKey, Date.now()) as CounterRow | undefined) ?? null);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  _delete(rlKey: string): Promise<boolean> {
    try {
      this.#group.join();
      return Promise.resolve(this.#statements.delete.run(rlKey).changes > 0);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

function counterStatements(raw: BetterSqlite3.Database, table: string) {
  return {
    upsert: raw.prepare(
      `INSERT INTO ${table} (key, points, expire) VALUES (?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET
         points = CASE WHEN expire IS NULL OR expire > ? THEN points + excluded.points ELSE excluded.points END,
         expire = CASE WHEN expire IS NULL OR expire > ? THEN expire ELSE excluded.expire END
       RETURNING points, expire`,
    ),
    replace: raw.prepare(`INSERT OR REPLACE INTO ${table} (key, points, expire) VALUES (?, ?, ?) RETURNING points, expire`),
    get: raw.prepare(`SELECT points, expire FROM ${table} WHERE key = ? AND (expire > ? OR expire IS NULL)`),
    delete: raw.prepare(`DELETE FROM ${table} WHERE key = ?`),
  };
}

/**
 * Fixed-window counters from rate-limiter-flexible, kept in the service's own SQLite database
 * (table `rate_limits`, created by the migrations) so limits survive restarts; expired rows are
 * cleared every five minutes. Keys made of a phone number (or its prefix) are stored as the
 * number's blind index, so the counters table names no number.
 */
export function createSqliteLimiter(sqlite: BetterSqlite3.Database, settings: LimitSettings, vault: NumberVault): Limiter {
  const db = limiterConnection(sqlite);
  return createFlexibleLimiter(
    settings,
    vault,
    (window) =>
      new GroupCommittedSQLiteLimiter(
        {
          ...window,
          storeClient: db,
          storeType: "better-sqlite3",
          tableName: "rate_limits",
          tableCreated: true,
          clearExpiredByTimeout: true, // without it, one row per number and IP stays forever
        },
        sqlite,
      ),
  );
}
