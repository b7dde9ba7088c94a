import { VerifydError } from "./errors.js";
import type { Limiter, LimitRule, LimitState } from "./ports.js";

/**
 * Rate-limit guards of the verification flow. Per-IP rules apply only when the integrator passed
 * the end user's IP: without it every request would share the login service's own address.
 */

function refuse(state: LimitState, what: string): never {
  throw new VerifydError("rate_limited", `${what}: at most ${state.limit} per ${Math.round(state.windowMs / 1000)} s`, {
    retryAfterMs: state.resetMs,
    limit: state,
  });
}

/** The limit as shown to clients in problem documents and RateLimit headers. */
export function limitInfo(state: LimitState) {
  return { rule: state.rule, limit: state.limit, remaining: state.remaining, window_s: Math.round(state.windowMs / 1000) };
}

async function consumeOrRefuse(limiter: Limiter, rule: LimitRule, key: string, what: string) {
  const state = await limiter.consume(rule, key);
  if (!state.allowed) refuse(state, what);
}

/** Every send (start or resend) counts against the destination and the end user's IP. */
export async function enforceSendLimits(limiter: Limiter, to: string, clientIp: string | null | undefined) {
  if (clientIp) await consumeOrRefuse(limiter, "starts_per_ip", clientIp, "too many verifications from this client IP");
  await consumeOrRefuse(limiter, "sends_per_destination", to, "too many codes sent to this number");
}

/** The integrator's own signals about who is asking (`device_id`, `user_id` of the start request). */
export interface StartSignals {
  deviceId?: string | null;
  userId?: string | null;
}

/**
 * Starts per device and per user account, when the integrator passes them: one device or account
 * cycling through many numbers (SMS pumping, account farming) is refused whatever the numbers.
 */
export async function enforceSignalLimits(limiter: Limiter, signals: StartSignals) {
  if (signals.deviceId)
    await consumeOrRefuse(limiter, "starts_per_device", signals.deviceId, "too many verifications from this device");
  if (signals.userId) await consumeOrRefuse(limiter, "starts_per_user", signals.userId, "too many verifications for this user");
}

/** Refuses a check while the destination or IP has too many recent failures (brute force across resends). */
export async function guardFailedChecks(limiter: Limiter, to: string, clientIp: string | null | undefined) {
  const dest = await limiter.peek("failed_checks_per_destination", to);
  if (!dest.allowed) refuse(dest, "too many wrong codes for this number");
  if (clientIp) {
    const ip = await limiter.peek("failed_checks_per_ip", clientIp);
    if (!ip.allowed) refuse(ip, "too many wrong codes from this client IP");
  }
}

export async function recordFailedCheck(limiter: Limiter, to: string, clientIp: string | null | undefined) {
  await limiter.consume("failed_checks_per_destination", to);
  if (clientIp) await limiter.consume("failed_checks_per_ip", clientIp);
}

/** A success clears the number's failures (NIST 800-63B §3.2.2); IP failures stay. */
export async function clearFailedChecks(limiter: Limiter, to: string) {
  await limiter.reset("failed_checks_per_destination", to);
}
