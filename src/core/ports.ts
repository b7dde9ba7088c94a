/**
 * The seams of verifyd. The domain (`core/`) and the delivery outbox depend on these
 * types only; adapters at the edges (SQLite store, rate limiter, providers, HTTP) implement them.
 * Times are epoch milliseconds throughout: portable between SQLite and PostgreSQL, cheap to compare.
 */

import type { AdminStore } from "./admin.js";
import type { AnalyticsStore } from "./analytics.js";
import type { EventStore } from "./events.js";
import type { OptOutStore } from "./opt-outs.js";
import type { RetentionStore } from "./retention.js";
import type { StatusUpdate } from "./sender.js";
import type { ServiceSettings } from "./service-settings.js";
import type { Transaction } from "./transaction.js";

export type VerificationStatus = "pending" | "approved" | "canceled" | "expired" | "max_attempts_reached" | "failed";

export type Channel = "sms" | "whatsapp" | "rcs";

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
}

/** Why an inbound message approved nothing. */
export type InboundRefusal = "unknown" | "expired" | "used" | "sender_mismatch";

export type InboundApproval =
  | { kind: "approved"; verification: Verification }
  | { kind: "refused"; reason: InboundRefusal; verification: Verification | null };

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

/** `counted`: the attempt was counted as a failure in advance; compare the code against this fresh row. */
export type FactorAttempt =
  | { kind: "counted"; factor: StoredFactor }
  | { kind: "locked"; factor: Factor }
  | { kind: "not_found" };

export type FactorAcceptance =
  | { kind: "accepted"; factor: Factor }
  /** `replayed`: this step (or a later one) was accepted already. */
  | { kind: "refused"; reason: "replayed" | "not_found" };

/** Secret material of a verification, stored beside it and wiped when it closes. */
export interface CodeSecrets {
  /** HMAC-SHA256(hash key, verification id ‖ code). */
  codeHash: Buffer;
  /** AES-256-GCM sealed code, so the outbox can (re)send it after a crash or a fallback. */
  sealedCode: Buffer;
}

export interface NewDelivery {
  id: string;
  verificationId: string;
  step: number;
  channel: Channel;
  provider: string;
  nextTryAt: number;
  /**
   * Set on a start's first delivery, which is sent at once: the row is written already claimed (sending,
   * first try, leased until then), so the inline send needs no claim of its own. Should the process die
   * before the send is recorded, the worker sends it once the lease runs out, as after any claim.
   */
  leaseUntil?: number;
}

/** A claimed delivery with everything the outbox needs to render and send it. */
export interface DeliveryJob {
  id: string;
  verificationId: string;
  serviceId: string;
  serviceName: string;
  to: string;
  step: number;
  channel: Channel;
  provider: string;
  tries: number;
  route: RouteStep[];
  sealedCode: Buffer;
  expiresAt: number;
  locale: string | null;
  transaction: Transaction | null;
  /** The service's settings at claim time (templates, autofill lines). */
  settings: ServiceSettings;
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

/** A sent delivery located by its provider message id, with what a fallback decision needs. */
export interface SentDelivery {
  deliveryId: string;
  verificationId: string;
  /** The verification's service and destination, for its event webhooks. */
  serviceId: string;
  to: string;
  step: number;
  provider: string;
  route: RouteStep[];
  /** The verification is pending, unexpired and still on this delivery's step. */
  onCurrentStep: boolean;
  /** Set by `recordStatus` when this receipt first confirmed delivery: ms since the delivery was created. */
  deliveredAfterMs?: number;
}

export type CheckAttempt =
  /** The attempt was counted: compare the code against `codeHash`. */
  | { kind: "counted"; verification: Verification; codeHash: Buffer }
  /** Not counted because the verification is unknown, closed, expired or out of attempts. */
  | { kind: "refused"; verification: Verification | null };

export type ResendOutcome =
  | { kind: "resent"; verification: Verification }
  | { kind: "refused"; reason: "cooldown" | "max_sends" | "not_pending"; verification: Verification | null };

export type IdempotencyBegin =
  | { kind: "new" }
  | { kind: "replay"; status: number; body: string }
  | { kind: "in_flight" }
  | { kind: "mismatch" };

/** What happened to a delivery attempt, decided by the outbox and applied atomically by the store. */
export interface DeliveryResult {
  deliveryId: string;
  status: "accepted" | "queued" | "failed";
  /** For `accepted`: when to fall over if no delivery receipt has arrived by then. */
  fallbackAt?: number | null;
  providerMessageId?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  /** For `queued`: when to try again. */
  nextTryAt?: number;
  /** For `failed`: the next delivery (another provider of the step, or the next step), inserted in the same transaction. */
  fallback?: NewDelivery;
  /** For `failed` with no fallback: the verification becomes `failed`. */
  failVerification?: boolean;
}

/** One named readiness condition (`GET /readyz` lists the failing ones). */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  /** Why it fails, for the operator; never secrets. */
  detail?: string;
}

/**
 * Persistent state as atomic domain operations. Each implementation makes each operation
 * atomic its own way (one synchronous SQLite transaction, or one SQL statement with RETURNING);
 * there is deliberately no `transaction(fn)` here.
 */
export interface Store extends AdminStore, AnalyticsStore, EventStore, OptOutStore, RetentionStore {
  ping(): Promise<void>;
  /** The store's part of readiness: it can take a write, and every migration is applied. */
  readiness(): Promise<ReadinessCheck[]>;
  close(): Promise<void>;

  getService(id: string): Promise<ServiceRecord | null>;
  /** Creates the service or refreshes its name and route; policy overrides are kept. */
  ensureService(
    service: { id: string; name: string; route: RouteStep[]; countryRoutes?: Record<string, RouteStep[]> },
    now: number,
  ): Promise<void>;

  findApiKeyByHash(secretHash: Buffer): Promise<ApiKey | null>;
  insertApiKey(key: ApiKey & { secretHash: Buffer; createdAt: number; label: string }): Promise<void>;
  countActiveAdminKeys(): Promise<number>;

  getVerification(serviceId: string, id: string): Promise<Verification | null>;
  /** The live (pending, unexpired) verification for a destination, if any. */
  findPendingByDestination(serviceId: string, to: string, now: number): Promise<Verification | null>;
  /** The most recent verification for a destination, whatever its status. */
  findLatestByDestination(serviceId: string, to: string): Promise<Verification | null>;
  /**
   * Inserts a verification and its first delivery together. Stale pending rows of the same
   * destination are expired first. Returns false when a live pending one exists (a concurrent start won).
   * `first` is null for a test number, which is never sent to.
   */
  createVerification(v: Verification, secrets: CodeSecrets, first: NewDelivery | null): Promise<boolean>;
  /** Counts a send on a live verification, respecting cooldown and max sends, and queues its delivery. */
  recordResend(input: {
    id: string;
    now: number;
    cooldownMs: number;
    secrets?: CodeSecrets;
    expiresAt?: number;
    /** Absent for a test number. */
    delivery?: NewDelivery;
  }): Promise<ResendOutcome>;
  /** Increments the check counter only while pending, unexpired and under the limit. */
  recordCheck(serviceId: string, id: string, now: number): Promise<CheckAttempt>;
  /** pending → approved, once; wipes the code. False when it was no longer pending. */
  approve(id: string, now: number): Promise<boolean>;
  /** pending → a closed status; wipes the code and cancels queued deliveries. */
  closeVerification(id: string, status: Exclude<VerificationStatus, "pending" | "approved">, now: number): Promise<boolean>;
  /** Closes up to `limit` pending verifications past their expiry; returns them (now `expired`). */
  expireDue(now: number, limit: number): Promise<Verification[]>;

  /** Claims one delivery for sending (queued, or sending with an expired lease). */
  claimDelivery(id: string, now: number, leaseMs: number): Promise<DeliveryJob | null>;
  /** Claims due deliveries for the background worker. */
  claimDueDeliveries(now: number, leaseMs: number, limit: number): Promise<DeliveryJob[]>;
  recordDeliveryResult(result: DeliveryResult, now: number): Promise<void>;
  /**
   * Applies a provider status (webhook, DLR) to the delivery with that message id. Never
   * downgrades (delivered stays delivered). Returns the delivery, or null when unknown.
   */
  recordStatus(provider: string, update: StatusUpdate, now: number): Promise<SentDelivery | null>;
  /** Claims accepted deliveries whose fallback time passed without a delivery receipt (clears the timer). */
  claimOverdueFallbacks(now: number, limit: number): Promise<SentDelivery[]>;
  /**
   * Moves a verification to `next` (another step), if it is still pending and on `from`'s step.
   * Records `reason` on `from`. Returns false when the route moved on or the verification closed.
   */
  advanceRoute(input: { fromDeliveryId: string; next: NewDelivery; reason: string; now: number }): Promise<boolean>;
  listDeliveries(verificationId: string): Promise<Delivery[]>;
  /** Deliveries waiting to be sent (first tries and retries), for the outbox depth gauge. */
  countQueuedDeliveries(): Promise<number>;

  createFactor(factor: StoredFactor): Promise<void>;
  getFactor(serviceId: string, id: string): Promise<StoredFactor | null>;
  /** An entity's factors, oldest first. */
  listFactors(serviceId: string, entityId: string): Promise<StoredFactor[]>;
  deleteFactor(serviceId: string, id: string): Promise<boolean>;
  /**
   * Counts an attempt as a failure before its code is compared (as `recordCheck` does), so concurrent
   * guesses cannot outrun the lockout: refused while `locked_until` is in the future; the attempt that
   * brings the count to `maxFailures` sets `locked_until = now + lockMs`. The count is kept through the
   * lockout, so after it each further failure locks again at once, until a success clears it.
   */
  beginFactorAttempt(input: { id: string; now: number; maxFailures: number; lockMs: number }): Promise<FactorAttempt>;
  /**
   * Accepts `step` only if it is above the last accepted step, in one conditional update: of two
   * concurrent correct codes for one step, exactly one is accepted. Clears the failure count and lock
   * of this factor and of `alsoReset` (the entity's other factors tried by the same challenge);
   * `activate` also marks an unverified factor verified.
   */
  acceptFactorStep(input: {
    id: string;
    step: number;
    now: number;
    activate: boolean;
    alsoReset?: string[];
  }): Promise<FactorAcceptance>;

  /**
   * Inserts a person-to-application verification (no delivery). Stale pending rows holding the same
   * hash are expired first. False when a live pending one holds `inboundCodeHash` (pick another code).
   */
  createInboundVerification(v: Verification, inboundCodeHash: Buffer): Promise<boolean>;
  /**
   * One conditional update: the pending, unexpired inbound verification with this hash whose expected
   * sender is unset or `from` becomes approved, records `from` and loses its hash. When nothing changed,
   * a follow-up read tells why.
   */
  approveInbound(inboundCodeHash: Buffer, from: string, now: number): Promise<InboundApproval>;

  beginIdempotent(serviceId: string, key: string, fingerprint: string, now: number): Promise<IdempotencyBegin>;
  finishIdempotent(serviceId: string, key: string, status: number, body: string): Promise<void>;
  abandonIdempotent(serviceId: string, key: string): Promise<void>;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface Ids {
  verification(): string;
  delivery(): string;
  apiKey(): string;
  factor(): string;
}

export type LimitRule =
  | "sends_per_destination"
  | "sends_per_prefix"
  | "sends_per_country"
  | "starts_per_ip"
  | "starts_per_device"
  | "starts_per_user"
  | "requests_per_key"
  | "failed_checks_per_destination"
  | "failed_checks_per_ip"
  | "inbound_approvals_per_sender"
  | "inbound_unknown_per_sender";

export interface LimitState {
  rule: LimitRule;
  allowed: boolean;
  limit: number;
  remaining: number;
  windowMs: number;
  /** Time until the window resets (or the block lifts). */
  resetMs: number;
}

/** Counters with windows. `consume` counts and answers; `peek` answers without counting. */
export interface Limiter {
  consume(rule: LimitRule, key: string): Promise<LimitState>;
  peek(rule: LimitRule, key: string): Promise<LimitState>;
  reset(rule: LimitRule, key: string): Promise<void>;
}

// The provider side of the seams lives in its own module; re-exported so `ports.js` stays the one import.
export * from "./sender.js";
