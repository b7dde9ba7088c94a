import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode, VerifydError } from "../../core/errors.js";
import type { LimitRule } from "../../core/ports.js";

/**
 * An error in Twilio's shape: `{code, message, more_info, status}`. The Twilio SDK turns exactly this
 * shape into its `RestException`; a body that also had `type` and `title` would become a different
 * exception class, so problem documents are never sent on this surface.
 */
export class TwilioError extends Error {
  override name = "TwilioError";
  constructor(
    readonly code: number,
    readonly status: ContentfulStatusCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The path below the version, as Twilio names resources in its 404 messages. */
export function relative(c: Context): string {
  const path = c.req.path;
  const at = path.indexOf("/Services");
  return at >= 0 ? path.slice(at) : path;
}

export const invalidParameter = (message: string) => new TwilioError(60200, 400, message);
export const notFound = (path: string) => new TwilioError(20404, 404, `The requested resource ${path} was not found`);
export const maxCheckAttempts = () => new TwilioError(60202, 429, "Max check attempts reached");

const MAX_SENDS = { code: 60203, status: 429, message: "Max send attempts reached" } as const;
const MAX_CHECKS = { code: 60202, status: 429, message: "Max check attempts reached" } as const;
const INVALID = { code: 60200, status: 400, message: "Invalid parameter" } as const;
const NOT_FOUND = { code: 20404, status: 404, message: "" } as const;
type Mapped = { code: number; status: ContentfulStatusCode; message: string };

/** The one table from verifyd's error codes to Twilio's; `blocked` and `rate_limited` are refined below. */
const BY_CODE: Record<ErrorCode, Mapped> = {
  invalid_request: INVALID,
  invalid_json: INVALID,
  invalid_phone_number: { code: 60200, status: 400, message: "Invalid parameter `To`" },
  invalid_email_address: { code: 60200, status: 400, message: "Invalid parameter `To`" },
  unsupported_media_type: INVALID,
  payload_too_large: { code: 20413, status: 413, message: "Request Entity Too Large" },
  idempotency_key_invalid: INVALID,
  idempotency_key_mismatch: INVALID,
  idempotency_key_in_flight: { code: 60212, status: 429, message: "Too many concurrent requests for phone number" },
  unauthorized: { code: 20003, status: 401, message: "Authenticate" },
  webhook_signature_invalid: { code: 20003, status: 401, message: "Authenticate" },
  forbidden: { code: 20403, status: 403, message: "Forbidden" },
  opted_out: { code: 21610, status: 400, message: "Attempt to send to unsubscribed recipient" },
  blocked: { code: 60410, status: 403, message: "Verification delivery attempt blocked" },
  route_not_found: NOT_FOUND,
  verification_not_found: NOT_FOUND,
  verification_closed: NOT_FOUND,
  factor_not_found: NOT_FOUND,
  service_not_found: NOT_FOUND,
  api_key_not_found: NOT_FOUND,
  abuse_block_not_found: NOT_FOUND,
  event_not_found: NOT_FOUND,
  method_not_allowed: { code: 20004, status: 405, message: "Method not allowed" },
  resend_cooldown: MAX_SENDS,
  max_sends_reached: MAX_SENDS,
  rate_limited: { code: 20429, status: 429, message: "Too Many Requests" },
  service_unavailable: { code: 60212, status: 429, message: "Too many concurrent requests for phone number" },
  channel_not_in_route: { code: 60223, status: 400, message: "Delivery channel disabled" },
  channel_unavailable: { code: 20503, status: 503, message: "Service unavailable" },
  limiter_unavailable: { code: 20503, status: 503, message: "Service unavailable" },
  overloaded: { code: 20503, status: 503, message: "Service unavailable" },
  internal_error: { code: 20500, status: 500, message: "Internal server error" },
};

/** Limit rules by what Twilio calls them: send limits, check limits, or the account's request rate. */
const BY_RULE: Record<LimitRule, Mapped> = {
  sends_per_destination: MAX_SENDS,
  calls_per_destination: MAX_SENDS,
  emails_per_domain: { code: 60410, status: 403, message: "Verification delivery attempt blocked" },
  starts_per_ip: MAX_SENDS,
  starts_per_device: MAX_SENDS,
  starts_per_user: MAX_SENDS,
  failed_checks_per_destination: MAX_CHECKS,
  failed_checks_per_ip: MAX_CHECKS,
  sends_per_prefix: { code: 60410, status: 403, message: "Verification delivery attempt blocked" },
  sends_per_country: { code: 60410, status: 403, message: "Verification delivery attempt blocked" },
  requests_per_key: BY_CODE.rate_limited,
  inbound_approvals_per_sender: BY_CODE.rate_limited,
  inbound_unknown_per_sender: BY_CODE.rate_limited,
};

const GEO_REASONS = new Set(["country_blocked", "country_not_allowed"]);

/** Screening reasons: geography is a geo-permission refusal, a landline an SMS refusal, the rest fraud rules. */
function blockedCode(reasons: readonly string[]): Mapped {
  if (reasons.some((r) => GEO_REASONS.has(r)))
    return { code: 60605, status: 403, message: "Verification delivery attempt blocked (geo permissions)" };
  if (reasons.includes("fixed_line_number"))
    return { code: 60205, status: 403, message: "SMS is not supported by landline phone number" };
  return BY_CODE.blocked;
}

/** Maps a verifyd error to Twilio's code, status and message; `path` names the resource of a 404. */
export function fromVerifydError(err: VerifydError, path: string): TwilioError {
  let mapped = BY_CODE[err.code];
  if (err.code === "blocked") mapped = blockedCode((err.details.extensions?.reasons as string[] | undefined) ?? []);
  else if (err.details.limit) mapped = BY_RULE[err.details.limit.rule];
  if (mapped.code === 20404) return notFound(path);
  // verifyd's detail says which parameter or limit; Twilio's own message leads so clients matching on it still work.
  const message = mapped === INVALID ? `Invalid parameter: ${err.detail}` : `${mapped.message}: ${err.detail}`;
  return new TwilioError(mapped.code, mapped.status, message, err.details.retryAfterMs);
}

/** What an error answer on this surface holds: a `TwilioError`, or the same as plain data. */
export type TwilioErrorBody = Pick<TwilioError, "code" | "status" | "message" | "retryAfterMs">;

/** The answer for one of verifyd's codes as plain data: no Error (whose stack is costly) per refused request. */
export function twilioErrorFor(code: ErrorCode, detail: string, retryAfterMs?: number): TwilioErrorBody {
  const mapped = BY_CODE[code];
  return { code: mapped.code, status: mapped.status, message: `${mapped.message}: ${detail}`, retryAfterMs };
}

/** Twilio's error JSON: `{code, message, more_info, status}`. */
export const twilioErrorJson = (err: TwilioErrorBody) => ({
  code: err.code,
  message: err.message,
  more_info: `https://www.twilio.com/docs/errors/${err.code}`,
  status: err.status,
});

export function twilioErrorResponse(c: Context, err: TwilioErrorBody): Response {
  const headers: Record<string, string> = {};
  if (err.retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  if (err.status === 401) headers["www-authenticate"] = 'Basic realm="verifyd"';
  return c.json(twilioErrorJson(err), err.status, headers);
}
