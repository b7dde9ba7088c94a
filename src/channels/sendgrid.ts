import { z } from "zod";
import { parseMailbox } from "../core/email.js";
import type { Clock } from "../core/ports.js";
import type { OutboundMessage, Sender, SendResult } from "../core/sender.js";
import { emailAddress, redactEmail } from "./email-parts.js";
import { callProvider, type ProviderResponse, parseRetryAfter } from "./http-client.js";
import { handleSendgridWebhook } from "./sendgrid-webhook.js";

/**
 * SendGrid v3 Mail Send (`POST /v3/mail/send`, Bearer API key): 202 with the message's id in
 * `X-Message-Id`. Its signed Event Webhook reports `delivered`, `bounce`, `dropped`
 * (sendgrid-webhook.ts); the webhook URL is set in the SendGrid account, pointing at
 * `<publicUrl>/webhooks/<name>/status`.
 */

export const sendgridConfigSchema = z.strictObject({
  /** An API key with the Mail Send permission only. */
  apiKey: z.string().min(1),
  /** The default `From`, on a domain authenticated in SendGrid; a service's `email_from` replaces it. */
  from: emailAddress,
  /**
   * The Signed Event Webhook's verification key (base64 of the DER public key, as SendGrid shows it).
   * Without it every event webhook is refused: an unsigned bounce must not move a verification.
   */
  webhookPublicKey: z.string().min(1).optional(),
  /** Event webhooks whose timestamp is further than this from now are refused as replays. @default 600 */
  webhookMaxAgeSeconds: z.number().int().positive().default(600),
  /** @default "https://api.sendgrid.com" (EU subusers: https://api.eu.sendgrid.com) */
  baseUrl: z.url({ protocol: /^https?$/ }).default("https://api.sendgrid.com"),
  timeoutMs: z.number().int().positive().default(5000),
});

export type SendgridConfig = z.infer<typeof sendgridConfigSchema>;

export interface SendgridDeps {
  clock: Clock;
  name?: string;
}

/** SendGrid's own tracking rewrites links and adds pixels and footers: none of it belongs in a code email. */
const NO_TRACKING = {
  click_tracking: { enable: false, enable_text: false },
  open_tracking: { enable: false },
  subscription_tracking: { enable: false },
};

function mailbox(value: string) {
  const parsed = parseMailbox(value);
  return parsed?.name ? { email: parsed.address, name: parsed.name } : { email: parsed?.address ?? value };
}

function requestBody(message: OutboundMessage, from: string) {
  const email = message.email as NonNullable<OutboundMessage["email"]>;
  return {
    // One recipient per message. The custom argument is an opaque id, echoed on every event; never the address or code.
    personalizations: [{ to: [{ email: message.to }], custom_args: { verifyd_delivery: message.deliveryId } }],
    from: mailbox(email.from ?? from),
    subject: email.subject,
    content: [
      { type: "text/plain", value: message.body },
      { type: "text/html", value: email.html },
    ],
    headers: { "Auto-Submitted": "auto-generated" },
    tracking_settings: NO_TRACKING,
  };
}

function classify(response: ProviderResponse, message: OutboundMessage, now: number): SendResult {
  if (response.kind === "unreachable") return { kind: "retry", error: response.error };
  const { status } = response;
  if (response.ok) return { kind: "accepted", providerMessageId: response.headers.get("x-message-id") };
  const errors = (response.json as { errors?: { message?: unknown; field?: unknown }[] } | undefined)?.errors ?? [];
  const described = errors
    .map((e) => [e.field, e.message].filter((part) => typeof part === "string" && part !== "").join(": "))
    .join("; ");
  // Errors may quote the request's fields, the address among them.
  const error = {
    code: `http_${status}`,
    message: redactEmail(described || response.text, message.to, message.code).slice(0, 200),
  };
  // A redirect means baseUrl is wrong; following it could hand the code to someone else.
  if (status < 400 || status === 401 || status === 403 || status === 404) return { kind: "misconfigured", error };
  if (status === 408 || status === 429 || status >= 500) {
    const reset = Number(response.headers.get("x-ratelimit-reset"));
    const retryAfterMs =
      parseRetryAfter(response.headers.get("retry-after"), now) ??
      (reset * 1000 > now ? Math.min(reset * 1000 - now, 60_000) : undefined);
    return { kind: "retry", error, ...(retryAfterMs ? { retryAfterMs } : {}) };
  }
  // 400 (an address SendGrid will not take), 413 and the rest: not this way.
  return { kind: "rejected", error };
}

export function createSendgridSender(config: SendgridConfig, deps: SendgridDeps): Sender {
  const url = `${config.baseUrl.replace(/\/+$/, "")}/v3/mail/send`;
  const authorization = `Bearer ${config.apiKey}`;
  return {
    provider: deps.name ?? "sendgrid",
    channels: ["email"],

    async send(message, signal): Promise<SendResult> {
      if (message.channel !== "email" || !message.email) {
        return {
          kind: "misconfigured",
          error: { code: "unsupported_channel", message: `SendGrid cannot send ${message.channel}` },
        };
      }
      const response = await callProvider({
        url,
        headers: { authorization, accept: "application/json" },
        body: requestBody(message, config.from),
        timeoutMs: config.timeoutMs,
        signal,
      });
      return classify(response, message, deps.clock.now());
    },

    async handleWebhook(request) {
      return handleSendgridWebhook(request, {
        publicKey: config.webhookPublicKey,
        maxAgeSeconds: config.webhookMaxAgeSeconds,
        now: () => deps.clock.now(),
      });
    },
  };
}
