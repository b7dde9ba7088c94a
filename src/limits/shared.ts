import type { Redis } from "ioredis";
import type pg from "pg";
import { RateLimiterPostgres, RateLimiterRedis } from "rate-limiter-flexible";
import type { NumberVault } from "../core/number-vault.js";
import type { Limiter } from "../core/ports.js";
import { createFlexibleLimiter, type LimitSettings } from "./limiter.js";

/**
 * Limiters whose counters every instance shares, so a limit holds for the whole deployment
 * rather than per process.
 */

/** Counters in Redis (`REDIS_URL`). The client must not queue commands while disconnected, so an outage fails at once. */
export function createRedisLimiter(redis: Redis, settings: LimitSettings, vault: NumberVault): Limiter {
  return createFlexibleLimiter(
    settings,
    vault,
    (window) => new RateLimiterRedis({ ...window, storeClient: redis, rejectIfRedisNotReady: true }),
  );
}

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
