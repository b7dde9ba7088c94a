import { Webhook } from "standardwebhooks";
import type { Clock } from "../core/ports.js";
import type { Sender, SendResult } from "../core/sender.js";
import { callProvider, parseRetryAfter } from "./http-client.js";

export interface HttpSenderOptions {
  url: string;
  /** Standard Webhooks secret (`whsec_…`); without it requests go unsigned (development only). */
  secret?: string;
  timeoutMs: number;
  clock: Clock;
}

/** Statuses that mean "not now" rather than "never". */
const RETRYABLE_4XX = new Set([408, 425, 429]);

/**
 * Generic webhook channel: POSTs the message as JSON to the operator's own gateway, signed with
 * Standard Webhooks headers. 2xx = accepted; 4xx = permanent (except 408/425/429); 5xx, timeouts and
 * network errors = retry. The delivery id is the `webhook-id`, so a receiver can de-duplicate retries.
 */
export function createHttpSender(options: HttpSenderOptions): Sender {
  const signer = options.secret ? new Webhook(options.secret) : undefined;
  return {
    provider: "http",
    // The operator's gateway reads `channel` and delivers as it can: a call or an email too.
    channels: ["sms", "whatsapp", "rcs", "voice", "email"],
    async send(message, signal): Promise<SendResult> {
      const payload = JSON.stringify({
        verification_id: message.verificationId,
        to: message.to,
        channel: message.channel,
        code: message.code,
        message: message.body,
        locale: message.locale,
        expires_at: new Date(message.expiresAt).toISOString(),
        // An email's `message` is its plain-text body; its subject (the code first) comes beside it.
        ...(message.email ? { subject: message.email.subject } : {}),
      });
      const now = new Date(options.clock.now());
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (signer) {
        headers["webhook-id"] = message.deliveryId;
        headers["webhook-timestamp"] = String(Math.floor(now.getTime() / 1000));
        headers["webhook-signature"] = signer.sign(message.deliveryId, now, payload);
      }
      const response = await callProvider({ url: options.url, headers, body: payload, timeoutMs: options.timeoutMs, signal });
      if (response.kind === "unreachable") return { kind: "retry", error: response.error };
      const error = { code: `http_${response.status}`, message: response.text.slice(0, 200) };
      if (response.ok) return { kind: "accepted", providerMessageId: response.headers.get("x-message-id") };
      // A redirect means the configured URL is wrong; following it could leak codes elsewhere.
      if (response.status >= 300 && response.status < 400) return { kind: "misconfigured", error };
      if (response.status >= 400 && response.status < 500 && !RETRYABLE_4XX.has(response.status)) {
        return { kind: "rejected", error };
      }
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), options.clock.now());
      return { kind: "retry", error, ...(retryAfterMs ? { retryAfterMs } : {}) };
    },
  };
}
