import { z } from "zod";
import type { Channel } from "../core/model.js";
import type { Clock } from "../core/ports.js";
import type { OutboundMessage, ProviderError, Sender, SendResult } from "../core/sender.js";
import { callProvider, type ProviderResponse, parseRetryAfter } from "./http-client.js";
import { callForm, handleCallCallback, hangUpCall, isCallCallback, twilioVoiceSchema } from "./twilio-voice.js";
import { handleTwilioWebhook } from "./twilio-webhook.js";

/**
 * Twilio Programmable Messaging: SMS with the rendered text, WhatsApp with an approved
 * authentication template (Content API) whose only variable is the code; and Programmable Voice
 * calls that speak the code, when `voice` is set (twilio-voice.ts). Status callbacks and incoming
 * messages arrive on `/webhooks/{name}/…`, signed with the account's Auth Token.
 */

const sid = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), { message: `must be a ${prefix}… SID (34 characters)` });

export const twilioConfigSchema = z
  .strictObject({
    /** `AC…`: in the API path even when authenticating with an API key. */
    accountSid: sid("AC"),
    /** Authenticates API calls (unless an API key is set) and is the only key that verifies webhooks. */
    authToken: z.string().min(1).optional(),
    /** `SK…` API key, preferred over the Auth Token for API calls when set. */
    apiKeySid: sid("SK").optional(),
    apiKeySecret: z.string().min(1).optional(),
    /** SMS sender: a Twilio number (E.164), short code or alphanumeric sender id. */
    from: z.string().min(1).optional(),
    /** `MG…` Messaging Service (sender pool, opt-out handling); may be combined with `from`. */
    messagingServiceSid: sid("MG").optional(),
    /** WhatsApp sender, e.g. "whatsapp:+14155238886" (the prefix is added when missing). */
    whatsappFrom: z
      .string()
      .regex(/^(whatsapp:)?\+[1-9]\d{1,14}$/, { message: "must be an E.164 number, optionally prefixed with whatsapp:" })
      .transform((from) => (from.startsWith("whatsapp:") ? from : `whatsapp:${from}`))
      .optional(),
    /** `HX…` Content template of type whatsapp/authentication; its single variable "1" is the code. */
    whatsappContentSid: sid("HX").optional(),
    /** @default "https://api.twilio.com" */
    baseUrl: z.url().default("https://api.twilio.com"),
    /** @default 5000 */
    timeoutMs: z.number().int().positive().default(5000),
    /** Ask for status callbacks at `${publicUrl}/webhooks/{name}/status` (only when the public URL is known). @default true */
    statusCallback: z.boolean().default(true),
    /** Verification calls (the `voice` channel): the caller id and how calls are made. */
    voice: twilioVoiceSchema.optional(),
  })
  .refine((c) => c.authToken !== undefined || (c.apiKeySid !== undefined && c.apiKeySecret !== undefined), {
    message: "set authToken, or apiKeySid with apiKeySecret",
    path: ["authToken"],
  })
  .refine((c) => (c.apiKeySid === undefined) === (c.apiKeySecret === undefined), {
    message: "apiKeySid and apiKeySecret go together",
    path: ["apiKeySecret"],
  })
  .refine(
    (c) => c.from !== undefined || c.messagingServiceSid !== undefined || c.whatsappFrom !== undefined || c.voice !== undefined,
    { message: "set from or messagingServiceSid (SMS), whatsappFrom (WhatsApp) and/or voice (calls)", path: ["from"] },
  );

export type TwilioConfig = z.infer<typeof twilioConfigSchema>;

export interface TwilioDeps {
  clock: Clock;
  /** verifyd's public base URL; status callbacks are requested only when it is known. */
  publicUrl?: string;
  /** @default "twilio" */
  name?: string;
  /** Problems worth an operator's attention that fail nothing (a machine-answered call that could not be hung up). */
  onWarning?: (message: string) => void;
}

/** Twilio keeps a message queued at most 10 hours. */
const MAX_VALIDITY_S = 36_000;

type Outcome = Exclude<SendResult, { kind: "accepted" }>["kind"];

/** Synchronous API error codes (`code` in the error JSON) and what they mean for this send. */
const API_ERRORS: Record<string, Outcome> = {
  "20003": "misconfigured", // authentication failed
  "20429": "retry", // too many concurrent requests, not processed
  "21211": "rejected", // invalid To number
  "21408": "misconfigured", // Geo Permissions: country not enabled
  "21610": "rejected", // the recipient replied STOP
  "21612": "rejected", // this To/From pair cannot be routed
  "21614": "rejected", // To is not a mobile number
  "21606": "misconfigured", // From cannot send to this destination
  "21608": "misconfigured", // trial account, unverified To
  // Sender and template set-up mistakes, which otherwise would read as "this recipient is unreachable".
  "21212": "misconfigured", // invalid From
  "21603": "misconfigured", // From / MessagingServiceSid missing
  "21655": "misconfigured", // ContentSid invalid or of another account
  "21656": "misconfigured", // ContentVariables do not fit the template
  "63007": "misconfigured", // no WhatsApp sender for this From
  // Calls.json
  "21205": "misconfigured", // Url is not a valid URL
  "21210": "misconfigured", // From is not a verified caller id
  "21214": "rejected", // To cannot be reached
  "21215": "misconfigured", // Geo Permissions: calls to this destination not enabled
  "21216": "rejected", // To is blocked (fraud-risk or regulatory)
  "21217": "rejected", // To does not appear to be valid
  "21219": "misconfigured", // trial account, unverified To
};

export function createTwilioSender(config: TwilioConfig, deps: TwilioDeps): Sender {
  const { clock } = deps;
  const provider = deps.name ?? "twilio";
  const accountUrl = `${config.baseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${config.accountSid}`;
  const messagesUrl = `${accountUrl}/Messages.json`;
  const callsUrl = `${accountUrl}/Calls.json`;
  const [user, password] =
    config.apiKeySid && config.apiKeySecret
      ? [config.apiKeySid, config.apiKeySecret]
      : [config.accountSid, config.authToken ?? ""];
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const statusCallback =
    config.statusCallback && deps.publicUrl
      ? `${deps.publicUrl.replace(/\/+$/, "")}/webhooks/${encodeURIComponent(provider)}/status`
      : undefined;
  const channels: Channel[] = [];
  if (config.from || config.messagingServiceSid) channels.push("sms");
  if (config.whatsappFrom) channels.push("whatsapp");
  if (config.voice) channels.push("voice");

  /** The form for one message, or why this configuration cannot send it. */
  const formFor = (message: OutboundMessage): URLSearchParams | SendResult => {
    const form = new URLSearchParams();
    if (message.channel === "voice") {
      if (!config.voice) return misconfigured("voice_not_configured", "set voice.from");
      const call = callForm(message, config.voice, statusCallback);
      return call instanceof URLSearchParams ? call : misconfigured(call.error, "the voice template is too long to speak");
    }
    if (message.channel === "sms") {
      if (!channels.includes("sms")) return misconfigured("sms_not_configured", "set from or messagingServiceSid");
      form.set("To", message.to);
      if (config.from) form.set("From", config.from);
      if (config.messagingServiceSid) form.set("MessagingServiceSid", config.messagingServiceSid);
      form.set("Body", message.body);
    } else if (message.channel === "whatsapp") {
      if (!config.whatsappFrom) return misconfigured("whatsapp_not_configured", "set whatsappFrom");
      // Business-initiated WhatsApp messages must be approved templates; free text would fail with 63016.
      if (!config.whatsappContentSid) return misconfigured("whatsapp_template_missing", "set whatsappContentSid");
      form.set("To", `whatsapp:${message.to}`);
      form.set("From", config.whatsappFrom);
      form.set("ContentSid", config.whatsappContentSid);
      form.set("ContentVariables", JSON.stringify({ 1: message.code }));
    } else {
      return misconfigured("unsupported_channel", `Twilio cannot send ${message.channel}`);
    }
    // Twilio drops the message if it is still queued when the code stops working.
    const validityS = Math.floor((message.expiresAt - clock.now()) / 1000);
    form.set("ValidityPeriod", String(Math.min(MAX_VALIDITY_S, Math.max(1, validityS))));
    if (statusCallback) form.set("StatusCallback", statusCallback);
    return form;
  };

  return {
    provider,
    channels,

    async send(message, signal): Promise<SendResult> {
      const form = formFor(message);
      if (!(form instanceof URLSearchParams)) return form;
      const response = await callProvider({
        method: "POST",
        url: message.channel === "voice" ? callsUrl : messagesUrl,
        headers: { authorization, accept: "application/json" },
        body: form,
        timeoutMs: config.timeoutMs,
        signal,
      });
      if (response.kind === "unreachable") return { kind: "retry", error: response.error };
      return classify(response, message.code, clock);
    },

    async handleWebhook(request) {
      const { voice } = config;
      if (!voice || !isCallCallback(request)) return handleTwilioWebhook(request, config.authToken);
      return handleCallCallback(request, {
        authToken: config.authToken,
        minAnsweredSeconds: voice.minAnsweredSeconds,
        hangUp: async (callSid) => {
          const done = await hangUpCall(
            callsUrl,
            callSid,
            authorization,
            config.timeoutMs,
            AbortSignal.timeout(config.timeoutMs),
          );
          // Not hung up: the call goes on to the end, still counted as undelivered.
          if (!done) deps.onWarning?.(`could not hang up call ${callSid} answered by a machine`);
        },
      });
    },
  };
}

function misconfigured(code: string, message: string): SendResult {
  return { kind: "misconfigured", error: { code, message } };
}

/** Maps a Messages.json answer: Twilio's error `code` first, the HTTP status for codes not listed. */
function classify(response: Extract<ProviderResponse, { kind: "response" }>, code: string, clock: Clock): SendResult {
  const body = (response.json ?? {}) as { sid?: unknown };
  if (response.ok) return { kind: "accepted", providerMessageId: typeof body.sid === "string" ? body.sid : null };
  const error = twilioError(response, code);
  const { status } = response;
  const outcome: Outcome =
    API_ERRORS[error.code] ??
    // A redirect or an unknown account/path means the base URL or AccountSid is wrong.
    (status < 400 || status === 401 || status === 403 || status === 404
      ? "misconfigured"
      : status === 408 || status === 429 || status >= 500
        ? "retry"
        : "rejected");
  if (outcome !== "retry") return { kind: outcome, error };
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), clock.now());
  return { kind: "retry", error, ...(retryAfterMs ? { retryAfterMs } : {}) };
}

/** Twilio's error JSON `{code, message, more_info, status}`; the error code is kept, the text trimmed. */
function twilioError(response: Extract<ProviderResponse, { kind: "response" }>, code: string): ProviderError {
  const body = (response.json ?? {}) as { code?: unknown; message?: unknown };
  const twilioCode =
    typeof body.code === "number" || typeof body.code === "string" ? String(body.code) : `http_${response.status}`;
  const text = typeof body.message === "string" ? body.message : "";
  // Messages may quote request parameters; the code must never reach the delivery log.
  const redacted = code ? text.split(code).join("[code]") : text;
  return { code: twilioCode, message: redacted.slice(0, 200) };
}
