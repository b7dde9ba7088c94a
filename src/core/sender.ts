import type { Channel, DeliveryJob } from "./ports.js";

/**
 * The provider side of the seams: what a provider adapter implements (`Sender`), what it answers
 * (results as data), and what it reports later (receipts, inbound messages, webhooks).
 */

export interface ProviderError {
  code: string;
  message: string;
}

/** A provider's answer to one send, as data: adapters never throw for expected failures. */
export type SendResult =
  | { kind: "accepted"; providerMessageId: string | null }
  /** Transient: try the same provider again later. */
  | { kind: "retry"; error: ProviderError; retryAfterMs?: number }
  /** Permanent for this recipient or channel: fall back to the next step. */
  | { kind: "rejected"; error: ProviderError }
  /** Our configuration or account is wrong: retrying cannot help; fall back and alert. */
  | { kind: "misconfigured"; error: ProviderError };

export interface OutboundMessage {
  deliveryId: string;
  verificationId: string;
  to: string;
  channel: Channel;
  code: string;
  body: string;
  locale: string;
  expiresAt: number;
  /** The service's site (`https://` + its WebOTP origin), for channels that can offer an "open" button (RCS). */
  openUrl?: string | null;
}

/** Whether a destination can receive on a channel (RCS capability, WhatsApp account…). */
export type Capability = "capable" | "not_capable" | "unknown";

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

/** An incoming webhook request, as the adapter needs it to verify the signature. */
export interface WebhookRequest {
  method: "GET" | "POST";
  /** The public URL the provider called (scheme, host, path, query), rebuilt behind proxies. */
  url: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** The body exactly as received: signatures are computed over these bytes. */
  rawBody: string;
}

export type WebhookResult =
  /** Missing or bad signature: answer 401 and change nothing. */
  | { kind: "rejected"; reason: string }
  /** A verification handshake (e.g. Meta's GET hub.challenge): answer with this body. */
  | { kind: "challenge"; body: string }
  | {
      kind: "accepted";
      statuses: StatusUpdate[];
      inbound: InboundMessage[];
      /** What to answer the provider with, when it expects something specific (e.g. TwiML). */
      response?: { status: number; contentType: string; body: string };
    };

/** One provider adapter. Optional members are capabilities only some providers have. */
export interface Sender {
  /** The configured name of this provider instance (route steps refer to it), e.g. "twilio". */
  readonly provider: string;
  readonly channels: readonly Channel[];
  send(message: OutboundMessage, signal: AbortSignal): Promise<SendResult>;
  /** Checks before sending whether the destination can receive on the channel (RCS). */
  capability?(to: string, channel: Channel, signal: AbortSignal): Promise<Capability>;
  /** Verifies and parses a webhook sent to `/webhooks/{provider}/…`. */
  handleWebhook?(request: WebhookRequest): Promise<WebhookResult>;
  /**
   * For delegated steps, where the provider generates and sends its own code (its `send` returns the
   * provider's reference as the message id): forwards the user's code to the provider.
   */
  checkCode?(reference: string, code: string, signal: AbortSignal): Promise<DelegatedCheckResult>;
}

/** Asks the providers of a verification's delegated steps whether a code is theirs. */
export interface DelegatedCodes {
  matches(verificationId: string, code: string): Promise<boolean>;
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

/** The answer of a provider that checks codes itself. */
export type DelegatedCheckResult =
  | { kind: "approved" }
  | { kind: "wrong_code" }
  /** The provider no longer knows the verification (expired, used, or attempts exhausted there). */
  | { kind: "expired" }
  | { kind: "error"; error: ProviderError; retryable: boolean };

/**
 * A provider that generates, sends and checks its own code (e.g. Message Central VerifyNow).
 * verifyd keeps the provider's reference and forwards the user's code to it.
 */
export interface DelegatedVerifier {
  readonly provider: string;
  readonly channels: readonly Channel[];
  start(
    to: string,
    channel: Channel,
    signal: AbortSignal,
  ): Promise<(SendResult & { kind: "accepted"; reference: string }) | Exclude<SendResult, { kind: "accepted" }>>;
  check(reference: string, code: string, signal: AbortSignal): Promise<DelegatedCheckResult>;
}
