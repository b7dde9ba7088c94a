import { destinationLimitKey } from "./email.js";
import { VerifydError } from "./errors.js";
import type { Channel } from "./model.js";
import type { Limiter, LimitRule, LimitState } from "./ports.js";
import type { SendResult } from "./sender.js";

/**
 * Rate-limit guards of the verification flow. Per-IP rules apply only when the integrator passed
 * the end user's IP: without it every request would share the login service's own address. A
 * destination counts under its limit key (`destinationLimitKey`: an address without its `+tag`).
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
  await consumeOrRefuse(limiter, "sends_per_destination", destinationLimitKey(to), "too many codes sent to this destination");
}

/**
 * Refuses a send that would place a call once the number's `calls_per_destination` is used up. It
 * only looks: the call is counted when it is placed (`countCall`), so a fallback to a call counts too.
 */
export async function guardCalls(limiter: Limiter, to: string) {
  const state = await limiter.peek("calls_per_destination", to);
  if (!state.allowed) refuse(state, "too many calls to this number");
}

/** What a send is, for the limits counted per send. */
export interface SendSubject {
  channel: Channel;
  to: string;
}

/**
 * The limits counted per send rather than per start: a call counts once its provider accepted it,
 * whichever way the route got there (first step, fallback, resend), and one may not be placed while
 * the number's calls are used up. A refused call is a rejection: the route moves on, or the
 * verification fails when no step is left.
 */
export function createSendLimits(limiter: Limiter) {
  return {
    async check(send: SendSubject): Promise<SendResult | null> {
      if (send.channel !== "voice") return null;
      const state = await limiter.peek("calls_per_destination", send.to);
      if (state.allowed) return null;
      return {
        kind: "rejected",
        error: { code: "rate_limited", message: `calls_per_destination: at most ${state.limit} calls to this number` },
      };
    },
    async sent(send: SendSubject): Promise<void> {
      if (send.channel === "voice") await limiter.consume("calls_per_destination", send.to);
    },
  };
}

export type SendLimits = ReturnType<typeof createSendLimits>;

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
  const dest = await limiter.peek("failed_checks_per_destination", destinationLimitKey(to));
  if (!dest.allowed) refuse(dest, "too many wrong codes for this number");
  if (clientIp) {
    const ip = await limiter.peek("failed_checks_per_ip", clientIp);
    if (!ip.allowed) refuse(ip, "too many wrong codes from this client IP");
  }
}

export async function recordFailedCheck(limiter: Limiter, to: string, clientIp: string | null | undefined) {
  await limiter.consume("failed_checks_per_destination", destinationLimitKey(to));
  if (clientIp) await limiter.consume("failed_checks_per_ip", clientIp);
}

/** A success clears the number's failures (NIST 800-63B §3.2.2); IP failures stay. */
export async function clearFailedChecks(limiter: Limiter, to: string) {
  await limiter.reset("failed_checks_per_destination", destinationLimitKey(to));
}
