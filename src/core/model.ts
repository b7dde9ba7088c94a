import type { ServiceSettings } from "./service-settings.js";
import type { Transaction } from "./transaction.js";

export type VerificationStatus = "pending" | "approved" | "canceled" | "expired" | "max_attempts_reached" | "failed";

/** libphonenumber's number types, in snake_case. */
export const LINE_TYPES = [
  "premium_rate",
  "shared_cost",
  "toll_free",
  "uan",
  "pager",
  "fixed_line",
  "mobile",
  "fixed_line_or_mobile",
  "voip",
  "personal_number",
  "voicemail",
] as const;

export type LineType = (typeof LINE_TYPES)[number];

/** `voice` speaks the code in a phone call; `email` is the only channel whose destination is not a phone number. */
export type Channel = "sms" | "whatsapp" | "rcs" | "voice" | "email";

export type DeliveryStatus =
  | "queued"
  | "sending"
  | "accepted"
  | "sent"
  | "delivered"
  | "read"
  | "undelivered"
  | "failed"
  /** Never attempted: the verification closed before the send was due. */
  | "canceled";

export type ResendPolicy = "same" | "new";

/** One step of a route: a channel and the providers that can carry it, in order of preference. */
export interface RouteStep {
  channel: Channel;
  /** Tried in order: the next one takes over when a provider is misconfigured, exhausted or its circuit is open. */
  providers: string[];
  /** Fall over to the next step when no `delivered` arrives this long after acceptance. */
  fallbackAfterMs?: number | null;
  /**
   * Only for destinations of these line types (libphonenumber's, e.g. `fixed_line`, `mobile`,
   * `fixed_line_or_mobile`); unset: every type the channel's screening accepts. A number whose type
   * cannot be told matches no filter.
   */
  lineTypes?: readonly LineType[] | null;
  /**
   * Set by the conversion guard at the start when the destination's prefix, range or country was
   * refused: this step is not sent (its delivery is rejected with `blocked`, naming these reasons),
   * while the route's WhatsApp steps still go.
   */
  withheld?: readonly ConversionReason[] | null;
}

/** Per-service verification rules; unset service fields fall back to the configured defaults. */
export interface VerificationPolicy {
  /** @default 6 */
  codeLength: number;
  /** @default 600_000 (10 minutes, the NIST 800-63B ceiling) */
  ttlMs: number;
  /** @default 5 */
  maxChecks: number;
  /** @default 5 */
  maxSends: number;
  /** @default 30_000 */
  resendCooldownMs: number;
  /** `same` resends the live code; `new` rotates it (and restarts the ttl). @default "same" */
  resendPolicy: ResendPolicy;
}

/** A service as stored: only the policy fields it overrides. */
export interface ServiceRecord {
  id: string;
  name: string;
  policy: Partial<VerificationPolicy>;
  route: RouteStep[];
  countryRoutes: Record<string, RouteStep[]>;
  /** Message and test settings it overrides. */
  settings?: Partial<ServiceSettings>;
}

/** A service with its policy resolved against the configured defaults. */
export interface Service {
  id: string;
  /** Shown to the end user in messages ("Your {name} code is …"). */
  name: string;
  policy: VerificationPolicy;
  route: RouteStep[];
  /** Routes by destination country (ISO 3166-1 alpha-2), overriding `route`. */
  countryRoutes: Record<string, RouteStep[]>;
  settings: ServiceSettings;
}

export interface ApiKey {
  id: string;
  /** `null` for an admin key; admin keys act on the default service for verification calls. */
  serviceId: string | null;
  prefix: string;
  revokedAt: number | null;
}

/** A verification as the domain sees it. The sealed code and its hash never leave the store/outbox. */
export interface Verification {
  id: string;
  serviceId: string;
  to: string;
  country: string | null;
  status: VerificationStatus;
  route: RouteStep[];
  currentStep: number;
  sends: number;
  checks: number;
  maxChecks: number;
  maxSends: number;
  clientIp: string | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  lastSentAt: number;
  approvedAt: number | null;
  /** Set on person-to-application verifications: the channels the user may answer on. */
  inboundChannels?: Channel[] | null;
  /** For an approved inbound verification: the E.164 number the user's message came from. */
  verifiedNumber?: string | null;
  /** The language of its messages, chosen at the start. */
  locale?: string | null;
  /** The payment its code is bound to, if any. */
  transaction?: Transaction | null;
  /** A service test number: nothing is sent, and analytics leave it out. */
  test?: boolean;
  /**
   * The length of its live code in UTF-8 bytes (characters, for every generated code), read from the
   * sealed copy; null once the code is wiped. A check tells a candidate that cannot be it by this.
   */
  codeLength?: number | null;
}

export type FactorStatus = "unverified" | "verified";

/** An authenticator-app (TOTP) factor as the domain sees it; its sealed secret stays in `StoredFactor`. */
export interface Factor {
  id: string;
  serviceId: string;
  /** The integrator's id for the user (opaque to verifyd). */
  entityId: string;
  label: string | null;
  digits: 6 | 7 | 8;
  /** Seconds per time step. */
  period: 30 | 60;
  status: FactorStatus;
  /** The last accepted RFC 6238 time step; a step at or below it is never accepted again. */
  lastStep: number | null;
  /** Attempts since the last success; each is counted before its code is compared. */
  failedAttempts: number;
  lockedUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A factor with its AES-256-GCM sealed secret, read only to verify a code. */
export interface StoredFactor extends Factor {
  sealedSecret: Buffer;
}

export interface Delivery {
  id: string;
  verificationId: string;
  step: number;
  channel: Channel;
  provider: string;
  status: DeliveryStatus;
  providerMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  tries: number;
  createdAt: number;
  updatedAt: number;
}

/** One named readiness condition (`GET /readyz` lists the failing ones). */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  /** Why it fails, for the operator; never secrets. */
  detail?: string;
}

/** A delivery status reported later by a provider (status callback, DLR). */
export interface StatusUpdate {
  providerMessageId: string;
  status: "sent" | "delivered" | "read" | "undelivered" | "failed";
  /** The provider's own error code, as a string (e.g. Twilio "30005", Meta "131026"). */
  errorCode?: string;
  errorMessage?: string;
  /** Permanent for this recipient or channel (fall back), rather than a transient carrier problem. */
  permanent?: boolean;
}

/** A message the end user sent to the business (STOP keywords, person-to-application codes). */
export interface InboundMessage {
  providerMessageId: string;
  channel: Channel;
  /** E.164 of the sender. */
  from: string;
  /** The business number or id it was sent to. */
  to: string;
  text: string;
}

export type AbuseMode = "enforce" | "monitor";

/** Event webhooks sent to the integrator (Standard Webhooks), queued in the store and sent by the worker. */
export const EVENT_TYPES = [
  "verification.started",
  "verification.approved",
  "verification.expired",
  "verification.canceled",
  "verification.max_attempts_reached",
  "delivery.sent",
  "delivery.delivered",
  "delivery.failed",
  "delivery.fallback",
  "delivery.undelivered",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** `dead`: every try of the retry schedule failed (or the receiver answered 410); only a redeliver sends it again. */
export const EVENT_STATUSES = ["pending", "delivered", "dead"] as const;

export type EventStatus = (typeof EVENT_STATUSES)[number];

export interface EventData {
  verification_id: string;
  service_id: string;
  status: string;
  channel?: Channel | null;
  /** The destination with its middle hidden (`+1415***0100`, `a***@example.com`); never the full number or address. */
  to_masked: string | null;
  [key: string]: unknown;
}

/** The body sent to the integrator. */
export interface EventPayload {
  type: EventType;
  /** ISO 8601. */
  timestamp: string;
  data: EventData;
}

export type AnalyticsDimension = "channel" | "country" | "provider" | "day";

export const ANALYTICS_DIMENSIONS: readonly AnalyticsDimension[] = ["channel", "country", "provider", "day"];

export type OptOutSource = "keyword" | "api" | "provider";

export interface OptOut {
  /** E.164. */
  phone: string;
  channel: Channel;
  source: OptOutSource;
  /** The keyword the user sent (`source: keyword`), upper-cased; null otherwise. */
  keyword: string | null;
  createdAt: number;
}

/**
 * What the conversion guard judges: a number's prefix (the number without its last
 * `VERIFYD_PREFIX_DIGITS` digits, 10 000 numbers by default), the range around it (two digits fewer:
 * a million numbers, about what an operator is allotted) and its country; an email address's domain.
 */
export const CONVERSION_SCOPES = ["prefix", "range", "country", "domain"] as const;
export type ConversionScope = (typeof CONVERSION_SCOPES)[number];

/**
 * Why the guard refused a destination: `low_conversion_*` when its sends stopped turning into
 * approvals; `unproven_*` when it never had an approval on record and its first sends found none.
 */
export const CONVERSION_REASONS = [
  "low_conversion_prefix",
  "low_conversion_range",
  "low_conversion_country",
  "low_conversion_domain",
  "unproven_prefix",
  "unproven_range",
  "unproven_country",
  "unproven_domain",
] as const satisfies readonly (`low_conversion_${ConversionScope}` | `unproven_${ConversionScope}`)[];
export type ConversionReason = (typeof CONVERSION_REASONS)[number];

export interface ConversionKey {
  scope: ConversionScope;
  /** A number prefix (`+1415555`), an ISO country code or an email domain: never a full number or address. */
  key: string;
}

export interface AbuseBlock extends ConversionKey {
  id: string;
  reason: ConversionReason;
  /** The counts that tripped the guard. */
  sends: number;
  approvals: number;
  mode: AbuseMode;
  /** 1 for the key's first block within the guard's memory, 2 for the next (a longer cool-down), and so on. */
  repeat: number;
  createdAt: number;
  expiresAt: number;
  liftedAt: number | null;
}
