import { Webhook } from "standardwebhooks";
import type { Clock, Sender, SendResult } from "../core/ports.js";

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
    channels: ["sms", "whatsapp", "rcs"],
    async send(message, signal): Promise<SendResult> {
      const payload = JSON.stringify({
        verification_id: message.verificationId,
        to: message.to,
        channel: message.channel,
        code: message.code,
        message: message.body,
        locale: message.locale,
        expires_at: new Date(message.expiresAt).toISOString(),
      });
      const now = new Date(options.clock.now());
      const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "verifyd" };
      if (signer) {
        headers["webhook-id"] = message.deliveryId;
        headers["webhook-timestamp"] = String(Math.floor(now.getTime() / 1000));
        headers["webhook-signature"] = signer.sign(message.deliveryId, now, payload);
      }
      let response: Response;
      try {
        response = await fetch(options.url, {
          method: "POST",
          headers,
          body: payload,
          redirect: "manual",
          signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
        });
      } catch (err) {
        const name = (err as Error).name;
        const code = signal.aborted ? "aborted" : name === "TimeoutError" || name === "AbortError" ? "timeout" : "network_error";
        return { kind: "retry", error: { code, message: (err as Error).message } };
      }
      const text = await response.text().catch(() => "");
      const error = { code: `http_${response.status}`, message: text.slice(0, 200) };
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

/** `Retry-After` is delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000 || undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) || at <= now ? undefined : at - now;
}
