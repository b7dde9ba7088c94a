import type pg from "pg";
import { RateLimiterPostgres } from "rate-limiter-flexible";
import type { LimitSettings } from "../../config/limits.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { Limiter } from "../../core/ports.js";
import { createFlexibleLimiter } from "../../limits/limiter.js";

/*
 * Counters every instance on the database shares, so a limit holds for the whole deployment rather
 * than per process.
 */

/** Counters in the PostgreSQL database's `rate_limits` table (created by the migrations). */
export function createPgLimiter(pool: pg.Pool, settings: LimitSettings, vault: NumberVault): Limiter {
  return createFlexibleLimiter(
    settings,
    vault,
    (window) =>
      new RateLimiterPostgres({
        ...window,
        storeClient: pool,
        storeType: "pool",
        tableName: "rate_limits",
        tableCreated: true,
        clearExpiredByTimeout: true,
      }),
  );
}
