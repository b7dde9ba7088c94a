import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode, VerifydError } from "../core/errors.js";
import { limitInfo } from "../core/guards.js";
import type { LimitState } from "../core/ports.js";
import { rateLimitHeaders } from "./middleware/limits.js";

/** The one table from error code to HTTP status and stable title. */
export const ERROR_TABLE: Record<ErrorCode, { status: ContentfulStatusCode; title: string }> = {
  invalid_request: { status: 400, title: "The request is not valid" },
  invalid_json: { status: 400, title: "The body is not valid JSON" },
  invalid_phone_number: { status: 400, title: "The phone number is not valid" },
  invalid_email_address: { status: 400, title: "The email address is not valid" },
  idempotency_key_invalid: { status: 400, title: "The Idempotency-Key header is not valid" },
  unauthorized: { status: 401, title: "A valid API key is required" },
  webhook_signature_invalid: { status: 401, title: "The webhook signature is missing or wrong" },
  forbidden: { status: 403, title: "This API key may not do that" },
  opted_out: { status: 403, title: "The destination opted out of every channel of the route" },
  blocked: { status: 403, title: "The destination is refused by number screening" },
  route_not_found: { status: 404, title: "No such endpoint" },
  verification_not_found: { status: 404, title: "No such verification" },
  factor_not_found: { status: 404, title: "No such factor" },
  service_not_found: { status: 404, title: "No such service" },
  api_key_not_found: { status: 404, title: "No such API key" },
  abuse_block_not_found: { status: 404, title: "No such active abuse block" },
  event_not_found: { status: 404, title: "No such event" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  verification_closed: { status: 409, title: "The verification is no longer pending" },
  idempotency_key_in_flight: { status: 409, title: "A request with this Idempotency-Key is still running" },
  payload_too_large: { status: 413, title: "The body is too large" },
  unsupported_media_type: { status: 415, title: "The body must be application/json" },
  idempotency_key_mismatch: { status: 422, title: "This Idempotency-Key was used with another body" },
  channel_not_in_route: { status: 422, title: "The route has no step on the requested channels" },
  resend_cooldown: { status: 429, title: "Wait before sending another code" },
  max_sends_reached: { status: 429, title: "No more codes may be sent for this verification" },
  rate_limited: { status: 429, title: "Rate limit reached" },
  internal_error: { status: 500, title: "Internal error" },
  channel_unavailable: { status: 503, title: "No delivery channel is available" },
  service_unavailable: { status: 503, title: "Temporarily unavailable" },
  limiter_unavailable: { status: 503, title: "Rate limits cannot be checked right now" },
  overloaded: { status: 503, title: "Too many requests are in progress; retry later" },
};

const TYPE_BASE = "https://verifyd.dev/problems/";

export interface ProblemInput {
  code: ErrorCode;
  detail: string;
  retryAfterMs?: number;
  limit?: LimitState;
  extensions?: Record<string, unknown>;
}

/** The body of an RFC 9457 problem document with verifyd's stable `code`, about the path `instance`. */
export function problemBody(input: ProblemInput, instance: string, requestId?: string) {
  const { status, title } = ERROR_TABLE[input.code];
  return {
    type: `${TYPE_BASE}${input.code.replaceAll("_", "-")}`,
    title,
    status,
    code: input.code,
    detail: input.detail,
    instance,
    request_id: requestId,
    ...(input.limit ? { limit: limitInfo(input.limit) } : {}),
    ...input.extensions,
  };
}

/** An RFC 9457 problem document with verifyd's stable `code`. */
export function problem(c: Context, input: ProblemInput): Response {
  const { status } = ERROR_TABLE[input.code];
  const body = problemBody(input, c.req.path, c.get("requestId") as string | undefined);
  const headers: Record<string, string> = {
    "content-type": "application/problem+json",
    ...(input.limit ? rateLimitHeaders(input.limit) : {}),
  };
  if (input.retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(input.retryAfterMs / 1000)));
  return c.body(JSON.stringify(body), status, headers);
}

export function problemFromError(c: Context, err: VerifydError): Response {
  return problem(c, { code: err.code, detail: err.detail, ...err.details });
}
