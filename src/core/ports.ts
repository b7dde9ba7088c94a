import type { DeliveryJob } from "./store/deliveries.js";

/**
 * The small seams of the domain: time, ids, counters and the outbox's inline send. The nouns live
 * in `model.ts`, the Store port in `store/` (one file per area), the provider side in `sender.ts`.
 * Times are epoch milliseconds throughout: portable between SQLite and PostgreSQL, cheap to compare.
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface Ids {
  verification(): string;
  delivery(): string;
  apiKey(): string;
  factor(): string;
  /** An event's id, also its `webhook-id`. */
  event(): string;
}

export type LimitRule =
  | "sends_per_destination"
  /** Calls cost more than messages and are what revenue-share fraud pumps: counted apart, lower. */
  | "calls_per_destination"
  /** Sends to one email domain: the email counterpart of the per-prefix velocity. */
  | "emails_per_domain"
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

/** What the caller's connection tells a start or a resend while it runs. */
export interface Caller {
  /**
   * Aborted once the caller has gone (its connection closed): from then on nothing is written. Only
   * `aborted` is read, so an AbortSignal serves, and so does a cheaper view of the connection.
   */
  abort?: { readonly aborted: boolean };
  /**
   * Resolves once the server has next read its connections, so that a hang-up already on its way
   * is known to `abort` before something that cannot be taken back (a send). A server reads each
   * connection at most once a turn, and a caller's hang-up that arrived right behind its request is
   * read in the turn after the request's. Without it, `abort` says what is known now.
   */
  nextRead?(): Promise<void>;
  /**
   * Called when the request has written its delivery and only waits for the provider's answer:
   * whoever rations work between requests (admission control) can give its share to another.
   */
  waiting?(): void;
}

/** Asks the providers of a verification's delegated steps whether a code is theirs. */
export interface DelegatedCodes {
  matches(verificationId: string, code: string): Promise<boolean>;
  /** Whether a configured provider generates its own codes (whose length and alphabet are its own). */
  delegates(provider: string): boolean;
}

/**
 * How an inline send ended within its budget: `accepted` when the provider took it and nothing else
 * changed (the verification is as it was written); `other` when it failed, fell back, will be
 * retried, or is still under way, so the verification must be read again to be reported.
 */
export type DispatchOutcome = "accepted" | "other";

/** Sends a freshly queued delivery now (bounded by a budget); the outbox worker covers the rest. */
export interface Dispatcher {
  dispatch(deliveryId: string): Promise<DispatchOutcome>;
  /** How long a claim holds a delivery: a start writes its first delivery leased this long (`NewDelivery.leaseUntil`). */
  readonly leaseMs: number;
  /** Sends a delivery written already claimed, described by the writer (nothing is read back first). */
  dispatchClaimed(job: DeliveryJob): Promise<DispatchOutcome>;
}
