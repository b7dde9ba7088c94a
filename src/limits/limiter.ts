import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { LimitSettings } from "../config/limits.js";
import type { RateSetting } from "../config/units.js";
import { VerifydError } from "../core/errors.js";
import type { NumberVault } from "../core/number-vault.js";
import type { Limiter, LimitRule, LimitState } from "../core/ports.js";
import { storedLimitKey } from "../store/at-rest.js";

/**
 * Failed-check rules escalate: the failure that reaches the limit locks the key for the rule's
 * window, and each further time the limit is reached while earlier lockouts are remembered, the lock
 * doubles (1 h, 2 h, 4 h … with the defaults), up to `ESCALATION_CAP_MS`. Lockouts are remembered for
 * `STRIKE_MEMORY_MS` from the first one, or until the rule's key is reset (a correct code).
 */
export const ESCALATING_RULES: readonly LimitRule[] = ["failed_checks_per_destination", "failed_checks_per_ip"];
export const ESCALATION_CAP_MS = 24 * 3_600_000;
export const STRIKE_MEMORY_MS = 7 * 24 * 3_600_000;
/** The counter of lockouts of an escalating rule (its rows are `<rule>_strikes:<key>`). */
export const strikesPrefix = (rule: LimitRule) => `${rule}_strikes`;

/** How long the `strike`-th lockout (1-based) of a rule with this window lasts. */
export const lockoutMs = (windowMs: number, strike: number) =>
  Math.min(ESCALATION_CAP_MS, windowMs * 2 ** Math.max(0, strike - 1));

/** One counter family's window as rate-limiter-flexible takes it. */
export interface LimitWindow {
  keyPrefix: string;
  points: number;
  duration: number;
}

/**
 * The Limiter over rate-limiter-flexible counters that `persistent` keeps (SQLite, PostgreSQL,
 * Redis): the rules' counters and the escalating rules' strike counters. Number keys are stored as
 * blind indexes. A store that cannot answer fails closed: `limiter_unavailable` (503), never an
 * unlimited send.
 */
export function createFlexibleLimiter(
  settings: LimitSettings,
  vault: NumberVault,
  persistent: (window: LimitWindow) => RateLimiterAbstract,
): Limiter {
  const limiters = new Map<LimitRule, RateLimiterAbstract>();
  for (const [rule, s] of Object.entries(settings) as [LimitRule, RateSetting][]) {
    const window = { keyPrefix: rule, points: s.points, duration: Math.max(1, Math.round(s.windowMs / 1000)) };
    limiters.set(
      rule,
      // The per-key request budget is counted in memory: it is consulted on every request, guards
      // throughput rather than cost, and a restart resetting a one-minute window is harmless. Limits
      // that guard against pumping and guessing are kept in the store and survive restarts.
      rule === "requests_per_key" ? new RateLimiterMemory(window) : persistent(window),
    );
  }
  const get = (rule: LimitRule) => limiters.get(rule) as RateLimiterAbstract;
  const storedKey = (rule: LimitRule, key: string) => storedLimitKey(vault, rule, key);
  const strikes = new Map<LimitRule, RateLimiterAbstract>();
  for (const rule of ESCALATING_RULES) {
    strikes.set(
      rule,
      persistent({ keyPrefix: strikesPrefix(rule), points: Number.MAX_SAFE_INTEGER, duration: STRIKE_MEMORY_MS / 1000 }),
    );
  }

  /** The consume that reached an escalating rule's limit: lock the key for the next lockout's length. */
  async function escalate(rule: LimitRule, key: string): Promise<RateLimiterRes> {
    const strike = await (strikes.get(rule) as RateLimiterAbstract).consume(key);
    const ms = lockoutMs(settings[rule].windowMs, strike.consumedPoints);
    return get(rule).block(key, ms / 1000);
  }

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
        const stored = storedKey(rule, key);
        const res = await get(rule).consume(stored);
        if (strikes.has(rule) && res.consumedPoints === settings[rule].points) {
          return state(rule, await escalate(rule, stored), true);
        }
        return state(rule, res, true);
      } catch (err) {
        if (err instanceof RateLimiterRes) return state(rule, err, false);
        throw unavailable(err);
      }
    },
    async peek(rule, key) {
      const res = await get(rule)
        .get(storedKey(rule, key))
        .catch((err) => {
          throw unavailable(err);
        });
      return state(rule, res, (res?.consumedPoints ?? 0) < settings[rule].points);
    },
    async reset(rule, key) {
      try {
        const stored = storedKey(rule, key);
        // Independent keys: both deletes in flight at once, one round trip to the store rather than two.
        await Promise.all([get(rule).delete(stored), strikes.get(rule)?.delete(stored)]);
      } catch (err) {
        throw unavailable(err);
      }
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
