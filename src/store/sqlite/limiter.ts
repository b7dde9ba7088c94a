import type BetterSqlite3 from "better-sqlite3";
import { RateLimiterSQLite } from "rate-limiter-flexible";
import type { LimitSettings } from "../../config/limits.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { Limiter } from "../../core/ports.js";
import { createFlexibleLimiter } from "../../limits/limiter.js";
import { groupCommitFor } from "./group-commit.js";

/**
 * The connection as rate-limiter-flexible sees it. It prepares its SQL on every call (a parse and
 * plan per consume): its handful of distinct statements are handed to it prepared once instead.
 * Its one-statement upserts join the connection's group commit rather than committing one by one;
 * a single statement is atomic by itself, so they need no savepoint of their own.
 */
function limiterConnection(db: BetterSqlite3.Database): BetterSqlite3.Database {
  const group = groupCommitFor(db);
  const transaction =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      group.join();
      return fn(...args);
    };
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
      if (property === "transaction") return transaction;
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (!bound.has(property)) bound.set(property, value.bind(target));
      return bound.get(property);
    },
  });
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
      new RateLimiterSQLite({
        ...window,
        storeClient: db,
        storeType: "better-sqlite3",
        tableName: "rate_limits",
        tableCreated: true,
        clearExpiredByTimeout: true, // without it, one row per number and IP stays forever
      }),
  );
}
