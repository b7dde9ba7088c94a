import { createPrivateKey, type KeyObject, randomUUID, sign } from "node:crypto";
import { z } from "zod";
import type { Channel } from "../core/model.js";
import type { Clock } from "../core/ports.js";
import type { OutboundMessage, Sender, SendResult } from "../core/sender.js";
import { callProvider, type ProviderResponse, parseRetryAfter } from "./http-client.js";
import { callBody, vonageVoiceSchema } from "./vonage-voice.js";
import { handleVonageWebhook, vonageErrorCode } from "./vonage-webhook.js";

/**
 * Vonage Messages API: SMS, WhatsApp and RCS through one endpoint (`POST /v1/messages`, JSON).
 * Answers are 202 `{"message_uuid": …}` or RFC 7807 problems; delivery statuses and inbound messages
 * arrive as signed webhooks (see vonage-webhook.ts). With `voice` set, the Voice API's calls speak
 * the code (`POST /v1/calls`, vonage-voice.ts); their events arrive on the same webhook.
 */

const sender = z.string().min(1).optional();

export const vonageConfigSchema = z
  .strictObject({
    /** Application auth (recommended): requests carry an RS256 JWT signed with the application's key. */
    applicationId: z.string().min(1).optional(),
    /** PEM private key of the application (literal `\n` sequences are accepted for one-line values). */
    privateKey: z.string().min(1).optional(),
    /** Account auth (HTTP Basic): works for sending, but webhooks are then configured per account. */
    apiKey: z.string().min(1).optional(),
    apiSecret: z.string().min(1).optional(),
    /** Sender per channel (number or alphanumeric id for SMS, WhatsApp business number, RCS agent id). */
    smsFrom: sender,
    whatsappFrom: sender,
    rcsFrom: sender,
    /**
     * WhatsApp authentication template. Business-initiated free text is refused outside the 24-hour
     * window a user message opens, so codes go out as this template unless it is left unset (sandbox).
     */
    whatsappTemplate: z
      .strictObject({
        name: z.string().min(1),
        language: z.string().min(1).default("en"),
        /** Authentication templates have a copy-code / one-tap button that takes the code again. */
        button: z.boolean().default(true),
      })
      .optional(),
    /** Account signature secret that signs webhooks; without it every webhook is refused. */
    signatureSecret: z.string().min(1).optional(),
    /** Webhooks whose token was issued longer ago than this are refused as replays. */
    webhookMaxAgeSeconds: z.number().int().positive().default(600),
    /** Verification calls (the `voice` channel, Voice API): needs application auth. */
    voice: vonageVoiceSchema.optional(),
    baseUrl: z.url({ protocol: /^https?$/ }).default("https://api.nexmo.com"),
    timeoutMs: z.number().int().positive().default(5000),
  })
  .superRefine((config, ctx) => {
    const app = config.applicationId !== undefined || config.privateKey !== undefined;
    const account = config.apiKey !== undefined || config.apiSecret !== undefined;
    if (app && !(config.applicationId && config.privateKey)) {
      ctx.addIssue({ code: "custom", message: "applicationId and privateKey go together" });
    }
    if (account && !(config.apiKey && config.apiSecret)) {
      ctx.addIssue({ code: "custom", message: "apiKey and apiSecret go together" });
    }
    if (!app && !account) {
      ctx.addIssue({ code: "custom", message: "set applicationId + privateKey (or apiKey + apiSecret)" });
    }
    if (!config.smsFrom && !config.whatsappFrom && !config.rcsFrom && !config.voice) {
      ctx.addIssue({ code: "custom", message: "set at least one of smsFrom, whatsappFrom, rcsFrom, voice" });
    }
    if (config.voice && !(config.applicationId && config.privateKey)) {
      ctx.addIssue({ code: "custom", message: "voice needs application auth: applicationId + privateKey", path: ["voice"] });
    }
  });

export type VonageConfig = z.infer<typeof vonageConfigSchema>;

export interface VonageDeps {
  clock: Clock;
  /** verifyd's public base URL: status callbacks are then asked for at `/webhooks/{name}/status`. */
  publicUrl?: string;
  name?: string;
}

/** Lifetime of the request JWT: it is signed per request, so it only has to outlive one call. */
const TOKEN_TTL_S = 300;
/** TTL bounds for SMS and RCS: a 20 s floor (the SMS platform's historical minimum) and Vonage's 72 h default as ceiling. */
const MIN_TTL_S = 20;
const MAX_TTL_S = 259_200;

/** Problem types that name our account, credentials, sender or template: retrying cannot help. */
const ACCOUNT_PROBLEMS = new Set([
  "unauthorized",
  "forbidden",
  "low-balance",
  "unprovisioned",
  "account-suspended",
  "invalid-api-key",
  "jwt-expired",
  "jwt-revoked",
  "1022", // invalid template or template parameters
  "1060", // account barred
  "1070", // quota exceeded
  "1080", // account not enabled for REST
  "1120", // sender id refused
  "1140", // facility not enabled on the account
]);
const THROTTLED = new Set(["throttled", "1000"]);
const RETRYABLE_STATUS = new Set([408, 425, 429]);
const ACCOUNT_STATUS = new Set([401, 402, 403, 404]);

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** The `Authorization` header for each request, from whichever credentials are configured. */
function authorization(config: VonageConfig, clock: Clock): () => string {
  const { applicationId, privateKey, apiKey, apiSecret } = config;
  if (applicationId && privateKey) {
    // One-line PEMs from environment variables often carry literal "\n"; the key is parsed once, at start.
    const key: KeyObject = createPrivateKey(privateKey.includes("\n") ? privateKey : privateKey.replaceAll("\\n", "\n"));
    const header = b64url({ alg: "RS256", typ: "JWT" });
    return () => {
      const iat = Math.floor(clock.now() / 1000);
      const claims = b64url({ application_id: applicationId, iat, jti: randomUUID(), exp: iat + TOKEN_TTL_S });
      const signature = sign("sha256", Buffer.from(`${header}.${claims}`), key).toString("base64url");
      return `Bearer ${header}.${claims}.${signature}`;
    };
  }
  if (apiKey && apiSecret) {
    const basic = `Basic ${Buffer.from(`${apiKey}:${apiSecret}`).toString("base64")}`;
    return () => basic;
  }
  throw new Error("vonage: set applicationId + privateKey or apiKey + apiSecret");
}

function requestBody(message: OutboundMessage, from: string, config: VonageConfig, now: number, statusUrl?: string) {
  const common = {
    to: message.to.replace(/^\+/, ""), // E.164 digits without "+"
    from,
    channel: message.channel,
    client_ref: message.deliveryId,
    ...(statusUrl ? { webhook_url: statusUrl, webhook_version: "v1" } : {}),
  };
  const template = config.whatsappTemplate;
  if (message.channel === "whatsapp" && template) {
    // Interactive templates (auth templates have a button) go through `custom`, passed as is to WhatsApp.
    const components: unknown[] = [{ type: "body", parameters: [{ type: "text", text: message.code }] }];
    if (template.button) {
      components.push({ type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: message.code }] });
    }
    return {
      message_type: "custom",
      ...common,
      custom: {
        type: "template",
        template: { name: template.name, language: { policy: "deterministic", code: template.language }, components },
      },
    };
  }
  // SMS and RCS take a `ttl` (seconds); a code must not arrive after it stopped working.
  const ttl =
    message.channel === "whatsapp"
      ? undefined
      : Math.min(MAX_TTL_S, Math.max(MIN_TTL_S, Math.floor((message.expiresAt - now) / 1000)));
  return { message_type: "text", ...common, text: message.body, ...(ttl === undefined ? {} : { ttl }) };
}

function field(json: unknown, name: string): unknown {
  return json !== null && typeof json === "object" ? (json as Record<string, unknown>)[name] : undefined;
}

function redact(text: string, code: string): string {
  return code ? text.replaceAll(code, "*".repeat(code.length)) : text;
}

/** Maps an answer of the Messages or Voice API; `idField` names the id it answers with (`message_uuid`, a call's `uuid`). */
function classify(response: ProviderResponse, code: string, now: number, idField = "message_uuid"): SendResult {
  if (response.kind === "unreachable") return { kind: "retry", error: response.error };
  const { status, json } = response;
  if (response.ok) {
    const uuid = field(json, idField);
    return { kind: "accepted", providerMessageId: typeof uuid === "string" && uuid ? uuid : null };
  }
  const title = field(json, "title");
  const detail = field(json, "detail");
  const described = [title, detail].filter((part) => typeof part === "string" && part !== "").join(": ");
  const error = {
    code: vonageErrorCode(field(json, "type"), title) ?? `http_${status}`,
    // Problem details may quote request fields; the code must never reach logs through them.
    message: redact(described || response.text, code).slice(0, 200),
  };
  // A redirect means baseUrl is wrong; following it could hand the code to someone else.
  if (status >= 300 && status < 400) return { kind: "misconfigured", error };
  if (status >= 500 || RETRYABLE_STATUS.has(status) || THROTTLED.has(error.code)) {
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), now);
    return { kind: "retry", error, ...(retryAfterMs ? { retryAfterMs } : {}) };
  }
  if (ACCOUNT_STATUS.has(status) || ACCOUNT_PROBLEMS.has(error.code)) return { kind: "misconfigured", error };
  // 422 (invalid number or parameters for this recipient) and any other 4xx: not this way.
  return { kind: "rejected", error };
}

export function createVonageSender(config: VonageConfig, deps: VonageDeps): Sender {
  const provider = deps.name ?? "vonage";
  const authorize = authorization(config, deps.clock);
  const senders: Record<Channel, string | undefined> = {
    sms: config.smsFrom,
    whatsapp: config.whatsappFrom,
    rcs: config.rcsFrom,
    voice: config.voice?.from,
    email: undefined,
  };
  const channels = (["sms", "whatsapp", "rcs", "voice"] as const).filter((channel) => senders[channel] !== undefined);
  const url = `${config.baseUrl.replace(/\/+$/, "")}/v1/messages`;
  const callsUrl = `${config.baseUrl.replace(/\/+$/, "")}/v1/calls`;
  const statusUrl = deps.publicUrl ? `${deps.publicUrl.replace(/\/+$/, "")}/webhooks/${provider}/status` : undefined;

  return {
    provider,
    channels,
    async send(message, signal): Promise<SendResult> {
      const from = senders[message.channel];
      if (!from) {
        return {
          kind: "misconfigured",
          error: { code: "channel_not_configured", message: `no ${message.channel} sender configured for ${provider}` },
        };
      }
      const now = deps.clock.now();
      if (message.channel === "voice" && config.voice) {
        const call = await callProvider({
          url: callsUrl,
          headers: { authorization: authorize(), accept: "application/json" },
          body: callBody(message, config.voice, statusUrl),
          timeoutMs: config.timeoutMs,
          signal,
        });
        return classify(call, message.code, now, "uuid");
      }
      const response = await callProvider({
        url,
        headers: { authorization: authorize(), accept: "application/json" },
        body: requestBody(message, from, config, now, statusUrl),
        timeoutMs: config.timeoutMs,
        signal,
      });
      return classify(response, message.code, now);
    },
    async handleWebhook(request) {
      return handleVonageWebhook(request, {
        signatureSecret: config.signatureSecret,
        maxAgeSeconds: config.webhookMaxAgeSeconds,
        minAnsweredSeconds: config.voice?.minAnsweredSeconds ?? 0,
        now: () => deps.clock.now(),
      });
    },
  };
}
