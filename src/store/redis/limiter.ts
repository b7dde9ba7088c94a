import type { Redis } from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
import type { LimitSettings } from "../../config/limits.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { Limiter } from "../../core/ports.js";
import { createFlexibleLimiter } from "../../limits/limiter.js";

/*
 * Counters every instance shares, so a limit holds for the whole deployment rather than per
 * process, whatever the database. Loaded only when REDIS_URL is set (store/backends.ts).
 */

/** Counters in Redis (`REDIS_URL`). The client must not queue commands while disconnected, so an outage fails at once. */
export function createRedisLimiter(redis: Redis, settings: LimitSettings, vault: NumberVault): Limiter {
  return createFlexibleLimiter(
    settings,
    vault,
    (window) => new RateLimiterRedis({ ...window, storeClient: redis, rejectIfRedisNotReady: true }),
  );
}
