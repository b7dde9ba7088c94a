import { createPrivateKey, randomUUID } from "node:crypto";
import { z } from "zod";
import type { Clock } from "../core/ports.js";
import type { Capability, OutboundMessage, ProviderError, Sender, SendResult } from "../core/sender.js";
import { createAccessTokens } from "./google-rbm-auth.js";
import { handleRbmWebhook } from "./google-rbm-webhook.js";
import { callProvider, type ProviderRequest, type ProviderResponse, parseRetryAfter } from "./http-client.js";

/**
 * Google RCS Business Messaging: sends the code as an RCS text from a verified agent, after a
 * (cached) capability check. Authenticates as a service account; statuses and user messages arrive
 * on one signed webhook, configured in the RBM console.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

function isPrivateKeyPem(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

export const googleRbmConfigSchema = z.strictObject({
  /** The RBM agent id (the `agentId` query parameter of every call). */
  agentId: z.string().min(1),
  /** Fields of the service account's JSON key file. */
  serviceAccount: z.strictObject({
    clientEmail: z.string().min(1),
    /** PEM; a literal `\n` (as when pasted into one line) is read as a line break. */
    privateKey: z
      .string()
      .transform((pem) => pem.replace(/\\n/g, "\n"))
      .refine(isPrivateKeyPem, { message: "must be the key file's PEM private_key" }),
    /** @default "https://oauth2.googleapis.com/token" */
    tokenUri: z.url().default("https://oauth2.googleapis.com/token"),
  }),
  /** The client token set for the webhook in the RBM console: the key of `X-Goog-Signature`. */
  clientToken: z.string().min(1),
  /** @default "https://rcsbusinessmessaging.googleapis.com" (regional hosts such as `europe-…` also exist) */
  baseUrl: z.url().default("https://rcsbusinessmessaging.googleapis.com"),
  /** @default 5000 */
  timeoutMs: z.number().int().positive().default(5000),
  /** How long a capability answer (either way) is trusted. @default 86400000 (24 h) */
  capabilityCacheMs: z.number().int().nonnegative().default(DAY_MS),
});

export type GoogleRbmConfig = z.infer<typeof googleRbmConfigSchema>;

export interface GoogleRbmDeps {
  clock: Clock;
  /** Unused: RBM's webhook URL is set in the console, not per message. */
  publicUrl?: string;
  /** @default "google-rbm" */
  name?: string;
}

/** Google's limit for `ttl`. */
const MAX_TTL_S = 15 * 24 * 60 * 60;
const E164 = /^\+[1-9]\d{1,14}$/;
/** Capability answers kept at most, oldest dropped first. */
const CAPABILITY_CACHE_SIZE = 10_000;

export function createGoogleRbmSender(config: GoogleRbmConfig, deps: GoogleRbmDeps): Sender {
  const { clock } = deps;
  const base = config.baseUrl.replace(/\/+$/, "");
  const tokens = createAccessTokens({ key: config.serviceAccount, clock, timeoutMs: config.timeoutMs });
  const capabilities = new Map<string, { answer: Capability; until: number }>();

  /** Calls the API with a bearer token; a 401 (token revoked or expired early) gets one fresh token and one retry. */
  const authorized = async (
    request: Omit<ProviderRequest, "headers" | "timeoutMs">,
  ): Promise<ProviderResponse | Exclude<SendResult, { kind: "accepted" | "rejected" }>> => {
    for (let attempt = 0; ; attempt++) {
      const token = await tokens.get(request.signal);
      if (token.kind !== "token") return token;
      const response = await callProvider({
        ...request,
        headers: { authorization: `Bearer ${token.accessToken}` },
        timeoutMs: config.timeoutMs,
      });
      if (response.kind === "response" && response.status === 401 && attempt === 0) {
        tokens.invalidate(token.accessToken);
        continue;
      }
      return response;
    }
  };

  const phoneUrl = (to: string, resource: string, query: Record<string, string>) =>
    // `+` stays literal in the path, as in Google's own samples; `to` is checked to be E.164 first.
    `${base}/v1/phones/${to}/${resource}?${new URLSearchParams(query)}`;

  return {
    provider: deps.name ?? "google-rbm",
    channels: ["rcs"],

    async send(message, signal): Promise<SendResult> {
      if (message.channel !== "rcs") {
        return { kind: "misconfigured", error: { code: "unsupported_channel", message: `RBM cannot send ${message.channel}` } };
      }
      if (!E164.test(message.to)) return { kind: "rejected", error: { code: "invalid_number", message: "not E.164" } };
      // The code must not linger on the platform after it stops working (Google retries offline users for 30 days).
      const ttlS = Math.min(MAX_TTL_S, Math.floor((message.expiresAt - clock.now()) / 1000));
      if (ttlS < 1) return { kind: "rejected", error: { code: "expired", message: "the code expired before sending" } };

      const messageId = randomUUID();
      const response = await authorized({
        method: "POST",
        url: phoneUrl(message.to, "agentMessages", { messageId, agentId: config.agentId }),
        body: { contentMessage: contentFor(message), messageTrafficType: "AUTHENTICATION", ttl: `${ttlS}s` },
        signal,
      });
      if (response.kind === "unreachable") return { kind: "retry", error: response.error };
      if (response.kind !== "response") return response; // no token: already classed
      return classify(response, messageId, message, clock);
    },

    async capability(to, channel, signal): Promise<Capability> {
      // This provider has nothing to say about other channels.
      if (channel !== "rcs" || !E164.test(to)) return "unknown";
      const now = clock.now();
      const hit = capabilities.get(to);
      if (hit && now < hit.until) return hit.answer;
      const response = await authorized({
        method: "GET",
        url: phoneUrl(to, "capabilities", { agentId: config.agentId, requestId: randomUUID() }),
        signal,
      });
      if (response.kind !== "response") return "unknown";
      // 404 covers every "not reachable over RBM" reason (no RCS, carrier not launched, not a tester).
      const answer: Capability = response.ok ? "capable" : response.status === 404 ? "not_capable" : "unknown";
      if (answer !== "unknown") {
        capabilities.delete(to);
        if (capabilities.size >= CAPABILITY_CACHE_SIZE) capabilities.delete(capabilities.keys().next().value as string);
        capabilities.set(to, { answer, until: clock.now() + config.capabilityCacheMs });
      }
      return answer;
    },

    async handleWebhook(request) {
      return handleRbmWebhook(request, { clientToken: config.clientToken, agentId: config.agentId });
    },
  };
}

/** RBM suggestion texts are limited to 25 characters. */
const SUGGESTION_TEXT_MAX = 25;

/** The text, and with the service's site known, a suggested action that opens it (where the code is typed). */
function contentFor(message: OutboundMessage) {
  if (!message.openUrl) return { text: message.body };
  const host = new URL(message.openUrl).host;
  const text = `Open ${host}`.slice(0, SUGGESTION_TEXT_MAX);
  return {
    text: message.body,
    suggestions: [{ action: { text, postbackData: "open_url", openUrlAction: { url: message.openUrl } } }],
  };
}

/** Maps an agentMessages.create answer using Google's error model (`{"error":{code,message,status}}`). */
function classify(
  response: Extract<ProviderResponse, { kind: "response" }>,
  messageId: string,
  message: OutboundMessage,
  clock: Clock,
): SendResult {
  if (response.ok) return { kind: "accepted", providerMessageId: messageId };
  const error = googleError(response, message.code);
  const { status } = response;
  // The platform already has this messageId (a retried send whose first answer was lost).
  if (status === 409 && error.code === "ALREADY_EXISTS") return { kind: "accepted", providerMessageId: messageId };
  // 401 only reaches here after a fresh token was refused too; 403 is the service account lacking access to the agent.
  if (status === 401 || status === 403) return { kind: "misconfigured", error };
  // A redirect means the configured base URL is wrong.
  if (status >= 300 && status < 400) return { kind: "misconfigured", error };
  if (status === 408 || status === 409 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), clock.now());
    return { kind: "retry", error, ...(retryAfterMs ? { retryAfterMs } : {}) };
  }
  // 404 NOT_FOUND: not reachable over RBM; 400 INVALID_ARGUMENT: the device cannot show this message.
  return { kind: "rejected", error };
}

function googleError(response: Extract<ProviderResponse, { kind: "response" }>, code: string): ProviderError {
  const body = (response.json ?? {}) as { error?: { status?: unknown; message?: unknown } };
  const status = typeof body.error?.status === "string" ? body.error.status : `http_${response.status}`;
  const text = typeof body.error?.message === "string" ? body.error.message : "";
  // Google may quote parts of the request in its message; the code must never reach the delivery log.
  const redacted = code ? text.split(code).join("[code]") : text;
  return { code: status, message: redacted.slice(0, 200) };
}
