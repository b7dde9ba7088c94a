/**
 * The closed set of error codes verifyd answers with. Expected outcomes of a check are data
 * (see `CheckReason`), not errors; these are for malformed requests, auth, limits and faults.
 * The HTTP status of each code lives in one table, `http/problem.ts`.
 */
export type ErrorCode =
  | "invalid_request"
  | "invalid_json"
  | "invalid_phone_number"
  | "invalid_email_address"
  | "unsupported_media_type"
  | "payload_too_large"
  | "unauthorized"
  | "webhook_signature_invalid"
  | "forbidden"
  | "opted_out"
  | "blocked"
  | "route_not_found"
  | "method_not_allowed"
  | "verification_not_found"
  | "verification_closed"
  | "factor_not_found"
  | "service_not_found"
  | "api_key_not_found"
  | "abuse_block_not_found"
  | "event_not_found"
  | "resend_cooldown"
  | "max_sends_reached"
  | "rate_limited"
  | "idempotency_key_invalid"
  | "idempotency_key_mismatch"
  | "idempotency_key_in_flight"
  | "channel_not_in_route"
  | "channel_unavailable"
  | "service_unavailable"
  | "limiter_unavailable"
  | "overloaded"
  | "internal_error";

import type { Caller, LimitState } from "./ports.js";

export interface ErrorDetails {
  /** For limits: how long until a retry can succeed. */
  retryAfterMs?: number;
  /** For rate limits: the limit that refused, shown in RateLimit headers and the problem body. */
  limit?: LimitState;
  /** Extra, documented members copied into the problem document. */
  extensions?: Record<string, unknown>;
}

/**
 * The caller closed its connection before the work it asked for was committed, so none was done
 * (nothing written, nothing sent). Not an error code: nobody is left to read the answer.
 */
export class CallerGone extends Error {
  override name = "CallerGone";
}

/** Throws `CallerGone` once `abort` (the caller's connection) has aborted. */
export function stopIfCallerGone(abort: Caller["abort"]): void {
  if (abort?.aborted) throw new CallerGone("the caller closed its connection; nothing was written or sent");
}

/**
 * The refusals a limit or a screen answers by design, and a request without a valid key: under a
 * pumping wave, a flood of retries or a client with a stale key they come by the thousand per
 * second, are answered and never logged as faults, so nobody reads their stack, and capturing one
 * cost more than the rest of the error.
 */
const REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "unauthorized",
  "blocked",
  "rate_limited",
  "opted_out",
  "resend_cooldown",
  "max_sends_reached",
]);

export class VerifydError extends Error {
  override name = "VerifydError";
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly details: ErrorDetails = {},
  ) {
    const refusal = REFUSALS.has(code);
    const depth = Error.stackTraceLimit;
    if (refusal) Error.stackTraceLimit = 0;
    super(`${code}: ${detail}`);
    if (refusal) Error.stackTraceLimit = depth;
  }
}
