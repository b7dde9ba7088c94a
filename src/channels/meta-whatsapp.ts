import { z } from "zod";
import type { Clock } from "../core/ports.js";
import type { ProviderError, Sender, SendResult } from "../core/sender.js";
import { callProvider, parseRetryAfter } from "./http-client.js";
import { handleMetaWebhook } from "./meta-whatsapp-webhook.js";

/**
 * WhatsApp Business Cloud API: the code goes out as an approved AUTHENTICATION template (copy-code or
 * one-tap button). Meta fixes the template text, so `message.body` is not used; the code fills the body
 * parameter and the button parameter. Delivery statuses and user messages arrive on one webhook.
 */

export const metaWhatsappConfigSchema = z.strictObject({
  /** System-user (or business) access token. */
  accessToken: z.string().min(1),
  phoneNumberId: z.string().regex(/^\d+$/, "the numeric phone number id from WhatsApp Manager"),
  /** Pinned Graph API version. */
  apiVersion: z
    .string()
    .regex(/^v\d+\.\d+$/, 'like "v23.0"')
    .default("v23.0"),
  /** An approved template of category AUTHENTICATION. */
  templateName: z.string().min(1),
  templateLanguage: z.string().min(2).default("en_US"),
  /** App secret: verifies `X-Hub-Signature-256` on webhook POSTs. Without it webhooks are refused. */
  appSecret: z.string().min(1).optional(),
  /** Verify token entered in the app dashboard with the callback URL (GET handshake). */
  verifyToken: z.string().min(1).optional(),
  baseUrl: z.url({ protocol: /^https?$/ }).default("https://graph.facebook.com"),
  timeoutMs: z.number().int().positive().default(5000),
});

export type MetaWhatsappConfig = z.output<typeof metaWhatsappConfigSchema>;

export interface MetaWhatsappDeps {
  clock: Clock;
  /** Unused: Meta's callback URL is set once per app in the dashboard, not per message. */
  publicUrl?: string;
  name?: string;
}

type ErrorClass = "retry" | "rejected" | "misconfigured";

/** Meta's error codes. The same codes come back asynchronously in failed statuses. */
const ERROR_CLASSES = new Map<number, ErrorClass>([
  // Token expired or invalid; missing permission (200–299 are handled as a range below).
  [0, "misconfigured"],
  [190, "misconfigured"],
  [3, "misconfigured"],
  [10, "misconfigured"],
  // App, account and per-number throughput limits.
  [4, "retry"],
  [80007, "retry"],
  [130429, "retry"],
  [131056, "retry"],
  // Spam rate limit: a quality restriction on our number that lifts in hours, not within a code's lifetime,
  // so the table's "R later / C" is taken as C: move to the next provider now and alert.
  [131048, "misconfigured"],
  // Unknown error / service unavailable.
  [1, "retry"],
  [2, "retry"],
  [131000, "retry"],
  [131016, "retry"],
  [133004, "retry"],
  [131049, "retry"],
  // The recipient cannot get this message on WhatsApp: fall back (to SMS) at once.
  [131026, "rejected"],
  [131047, "rejected"],
  [131050, "rejected"],
  [131021, "rejected"],
  [131008, "rejected"],
  [131009, "rejected"],
  [100, "rejected"],
  // Account locked, policy block, payment problem, number not registered.
  [131031, "misconfigured"],
  [368, "misconfigured"],
  [131042, "misconfigured"],
  [133010, "misconfigured"],
  // The template: missing, unapproved, paused, or its parameters do not fit.
  [132000, "misconfigured"],
  [132001, "misconfigured"],
  [132005, "misconfigured"],
  [132007, "misconfigured"],
  [132012, "misconfigured"],
  [132015, "misconfigured"],
  [132016, "misconfigured"],
]);

/** Meta's pair rate limit allows about one message per user every 6 s. */
const PAIR_RATE_WAIT_MS = 6000;

/** Graph's "object does not exist" subcode: with code 100 on our own path, the phone number id is wrong. */
const UNKNOWN_OBJECT_SUBCODE = 33;

/** The class of a Meta error code, or undefined for a code not in the table. */
export function classifyMetaError(code: number): ErrorClass | undefined {
  if (code >= 200 && code <= 299) return "misconfigured";
  return ERROR_CLASSES.get(code);
}

/** Buttons take at most 15 characters (Meta's limit for authentication template codes). */
const MAX_CODE_LENGTH = 15;

interface GraphError {
  error?: { code?: unknown; error_subcode?: unknown; message?: unknown };
}

export function createMetaWhatsappSender(config: MetaWhatsappConfig, deps: MetaWhatsappDeps): Sender {
  const url = `${config.baseUrl.replace(/\/+$/, "")}/${config.apiVersion}/${config.phoneNumberId}/messages`;
  const webhookOptions = { appSecret: config.appSecret, verifyToken: config.verifyToken };

  return {
    provider: deps.name ?? "meta-whatsapp",
    channels: ["whatsapp"],

    async send(message, signal): Promise<SendResult> {
      if (message.code.length > MAX_CODE_LENGTH) {
        return { kind: "misconfigured", error: { code: "code_too_long", message: `codes are limited to ${MAX_CODE_LENGTH}` } };
      }
      const codeParameter = [{ type: "text", text: message.code }];
      const response = await callProvider({
        url,
        headers: { authorization: `Bearer ${config.accessToken}` },
        body: {
          messaging_product: "whatsapp",
          recipient_type: "individual",
          to: message.to.replace(/^\+/, ""),
          type: "template",
          template: {
            name: config.templateName,
            language: { code: config.templateLanguage },
            components: [
              { type: "body", parameters: codeParameter },
              // Copy-code and one-tap buttons are stored by Meta as URL buttons, hence sub_type "url".
              { type: "button", sub_type: "url", index: "0", parameters: codeParameter },
            ],
          },
        },
        timeoutMs: config.timeoutMs,
        signal,
      });
      if (response.kind === "unreachable") return { kind: "retry", error: response.error };
      if (response.ok) {
        const id = (response.json as { messages?: Array<{ id?: unknown }> } | undefined)?.messages?.[0]?.id;
        return { kind: "accepted", providerMessageId: typeof id === "string" ? id : null };
      }

      // Never let the code leave in an error message (Meta may quote parameters back).
      const redact = (text: string) => (message.code ? text.split(message.code).join("…") : text).slice(0, 200);
      const graph = (response.json as GraphError | undefined)?.error;
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), deps.clock.now());
      if (typeof graph?.code === "number") {
        const error: ProviderError = {
          code: String(graph.code),
          message: redact(typeof graph.message === "string" ? graph.message : ""),
        };
        if (graph.code === 100 && graph.error_subcode === UNKNOWN_OBJECT_SUBCODE) return { kind: "misconfigured", error };
        const known = classifyMetaError(graph.code);
        if (known === "retry") {
          const wait = retryAfterMs ?? (graph.code === 131056 ? PAIR_RATE_WAIT_MS : undefined);
          return { kind: "retry", error, ...(wait ? { retryAfterMs: wait } : {}) };
        }
        if (known) return { kind: known, error };
        return byHttpStatus(response.status, error, retryAfterMs);
      }
      return byHttpStatus(response.status, { code: `http_${response.status}`, message: redact(response.text) }, retryAfterMs);
    },

    async handleWebhook(request) {
      const result = handleMetaWebhook(request, webhookOptions);
      if (result.kind !== "accepted") return result;
      // A failure the send table calls transient (e.g. 131000) is not a verdict on the recipient.
      const statuses = result.statuses.map((s) =>
        s.status === "failed" ? { ...s, permanent: !s.errorCode || classifyMetaError(Number(s.errorCode)) !== "retry" } : s,
      );
      return { ...result, statuses };
    },
  };
}

/** For answers without a code from the table (a proxy's error page, a code Meta added later). */
function byHttpStatus(status: number, error: ProviderError, retryAfterMs: number | undefined): SendResult {
  // A redirect or an auth/permission/not-found answer means the URL, token or phone number id is wrong.
  if ((status >= 300 && status < 400) || status === 401 || status === 403 || status === 404) {
    return { kind: "misconfigured", error };
  }
  if (status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429) return { kind: "rejected", error };
  return { kind: "retry", error, ...(retryAfterMs ? { retryAfterMs } : {}) };
}
