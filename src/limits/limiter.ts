import type BetterSqlite3 from "better-sqlite3";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes, RateLimiterSQLite } from "rate-limiter-flexible";
import type { RateSetting } from "../config/env.js";
import { VerifydError } from "../core/errors.js";
import type { Limiter, LimitRule, LimitState } from "../core/ports.js";

export type LimitSettings = Record<LimitRule, RateSetting>;

/** The config's limit names → the rules the domain speaks of. */
export function limitSettings(limits: {
  sendsPerDestination: RateSetting;
  sendsPerPrefix: RateSetting;
  sendsPerCountry: RateSetting;
  startsPerIp: RateSetting;
  requestsPerKey: RateSetting;
  failedChecksPerDestination: RateSetting;
  failedChecksPerIp: RateSetting;
  inboundApprovalsPerSender: RateSetting;
  inboundUnknownPerSender: RateSetting;
}): LimitSettings {
  return {
    sends_per_destination: limits.sendsPerDestination,
    sends_per_prefix: limits.sendsPerPrefix,
    sends_per_country: limits.sendsPerCountry,
    starts_per_ip: limits.startsPerIp,
    requests_per_key: limits.requestsPerKey,
    failed_checks_per_destination: limits.failedChecksPerDestination,
    failed_checks_per_ip: limits.failedChecksPerIp,
    inbound_approvals_per_sender: limits.inboundApprovalsPerSender,
    inbound_unknown_per_sender: limits.inboundUnknownPerSender,
  };
}

/**
 * Fixed-window counters from rate-limiter-flexible, kept in the service's own SQLite database
 * (table `rate_limits`, created by the migrations) so limits survive restarts; expired rows are
 * cleared every five minutes.
 */
export function createSqliteLimiter(db: BetterSqlite3.Database, settings: LimitSettings): Limiter {
  return createFlexibleLimiter(
    settings,
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

/** One rule's window as rate-limiter-flexible takes it. */
export interface LimitWindow {
  keyPrefix: string;
  points: number;
  duration: number;
}

/**
 * The Limiter over rate-limiter-flexible counters that `persistent` keeps (SQLite, PostgreSQL,
 * Redis). A store that cannot answer fails closed: `limiter_unavailable` (503), never an unlimited send.
 */
export function createFlexibleLimiter(
  settings: LimitSettings,
  persistent: (window: LimitWindow) => RateLimiterAbstract,
): Limiter {
  const limiters = new Map<LimitRule, RateLimiterAbstract>();
  for (const [rule, s] of Object.entries(settings) as [LimitRule, RateSetting][]) {
    const window = { keyPrefix: rule, points: s.points, duration: Math.max(1, Math.round(s.windowMs / 1000)) };
    limiters.set(
      rule,
      // The per-key request budget is counted in memory: it is consulted on every request, guards
      // throughput rather than cost, and a restart resetting a one-minute window is harmless. Limits
      // that guard against pumping and guessing are kept in the shared store and survive restarts.
      rule === "requests_per_key" ? new RateLimiterMemory(window) : persistent(window),
    );
  }
  const get = (rule: LimitRule) => limiters.get(rule) as RateLimiterAbstract;

  const state = (rule: LimitRule, res: RateLimiterRes | null, allowed: boolean): LimitState => {
    const { points, windowMs } = settings[rule];
    const consumed = res?.consumedPoints ?? 0;
    return {
      rule,
      allowed,
      limit: points,
      remaining: Math.max(0, points - consumed),
      windowMs,
      resetMs: res ? Math.max(0, res.msBeforeNext) : 0,
    };
  };

  return {
    async consume(rule, key) {
      try {
        return state(rule, await get(rule).consume(key), true);
      } catch (err) {
        if (err instanceof RateLimiterRes) return state(rule, err, false);
        throw unavailable(err);
      }
    },
    async peek(rule, key) {
      const res = await get(rule)
        .get(key)
        .catch((err) => {
          throw unavailable(err);
        });
      return state(rule, res, (res?.consumedPoints ?? 0) < settings[rule].points);
    },
    async reset(rule, key) {
      await get(rule)
        .delete(key)
        .catch((err) => {
          throw unavailable(err);
        });
    },
  };
}

function unavailable(cause: unknown): VerifydError {
  const error = new VerifydError("limiter_unavailable", "the rate-limit store does not answer; try again shortly", {
    retryAfterMs: 5_000,
  });
  error.cause = cause;
  return error;
}
