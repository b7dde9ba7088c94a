import type { Channel, InboundMessage, StatusUpdate } from "./model.js";

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
  /** E.164, or for `email` the address. */
  to: string;
  channel: Channel;
  code: string;
  /** The rendered text: an SMS or chat message, the sentence a call speaks, or an email's plain-text part. */
  body: string;
  locale: string;
  expiresAt: number;
  /** The service's site (`https://` + its WebOTP origin), for channels that can offer an "open" button (RCS). */
  openUrl?: string | null;
  /** For `email`: the subject and HTML part beside `body` (the plain-text part), and the service's own `From`, if set. */
  email?: { subject: string; html: string; from: string | null };
}

/** Whether a destination can receive on a channel (RCS capability, WhatsApp account…). */
export type Capability = "capable" | "not_capable" | "unknown";

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
