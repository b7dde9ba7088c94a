import { z } from "zod";
import type { StatusUpdate } from "../core/model.js";
import type { OutboundMessage, WebhookRequest, WebhookResult } from "../core/sender.js";
import { callProvider } from "./http-client.js";
import { verifyTwilioSignature } from "./twilio-webhook.js";
import { speechFor, type VoiceChoice } from "./voice-speech.js";

/**
 * Twilio Programmable Voice for the `voice` channel: `POST …/Calls.json` with the call's TwiML
 * inline (no TwiML URL for Twilio to fetch, so nothing else can serve the code), the sentence said
 * several times with pauses, and call-progress callbacks signed like SMS ones. A call counts as
 * delivered when it completed after being answered, long enough to hear the code, and not by a
 * machine; busy, no answer, a failure or a machine are undelivered, which moves the route on.
 */

const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, { message: "must be an E.164 number, e.g. +15017122661" });

export const twilioVoiceSchema = z
  .object({
    /** The caller id: a Twilio number or verified caller id of the account. */
    from: e164,
    /**
     * Answering-machine detection (asynchronous): a call answered by a machine is hung up at once
     * and counts as undelivered, so the code is not left on a voicemail anyone with its PIN can hear.
     * The speech then starts after a 3 s pause, the time the detection needs.
     */
    machineDetection: z.boolean().default(false),
    /** Seconds of ringing before giving up (Twilio's `Timeout`): short enough to hang up before voicemail answers. */
    ringSeconds: z.number().int().min(5).max(600).default(25),
    /** The longest a call may last (`TimeLimit`). */
    maxCallSeconds: z.number().int().min(10).max(600).default(90),
    /** How many times the sentence is said. */
    repeat: z.number().int().min(1).max(5).default(3),
    /** A completed call shorter than this was hung up before the code was heard: undelivered. */
    minAnsweredSeconds: z.number().int().min(0).max(120).default(6),
    /** Voice and language per message locale (`en`, `pt-BR`…), over the built-in choice (voice-speech.ts). */
    voices: z.record(z.string(), z.object({ language: z.string().min(2), voice: z.string().min(1) }).strict()).default({}),
  })
  .strict();

export type TwilioVoiceConfig = z.infer<typeof twilioVoiceSchema>;

/** Twilio refuses inline TwiML longer than this. */
const MAX_TWIML = 4000;

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };
const xml = (text: string) => text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] as string);

/** The TwiML of a call: a pause (so a "hello?" does not cover the first digit), then the sentence `repeat` times, then hang up. */
export function callTwiml(text: string, speech: VoiceChoice, repeat: number, leadPauseSeconds: number): string {
  const say = `<Say voice="${xml(speech.voice)}" language="${xml(speech.language)}">${xml(text)}</Say>`;
  const said = Array.from({ length: repeat }, () => say).join('<Pause length="1"/>');
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="${leadPauseSeconds}"/>${said}<Hangup/></Response>`;
}

/** The Calls.json form of one call, or the error code when the TwiML cannot be made short enough. */
export function callForm(
  message: OutboundMessage,
  config: TwilioVoiceConfig,
  statusCallback: string | undefined,
): URLSearchParams | { error: string } {
  const speech = speechFor(message.locale, "twilio", config.voices);
  const lead = config.machineDetection ? 3 : 1;
  // A long service override said three times may not fit: say it fewer times rather than not at all.
  let repeat = config.repeat;
  let twiml = callTwiml(message.body, speech, repeat, lead);
  while (twiml.length > MAX_TWIML && repeat > 1) twiml = callTwiml(message.body, speech, --repeat, lead);
  if (twiml.length > MAX_TWIML) return { error: "twiml_too_long" };
  const form = new URLSearchParams({
    To: message.to,
    From: config.from,
    Twiml: twiml,
    Timeout: String(config.ringSeconds),
    TimeLimit: String(config.maxCallSeconds),
  });
  if (statusCallback) {
    form.set("StatusCallback", statusCallback);
    form.set("StatusCallbackMethod", "POST");
    for (const event of ["initiated", "ringing", "answered", "completed"]) form.append("StatusCallbackEvent", event);
  }
  if (config.machineDetection && statusCallback) {
    form.set("MachineDetection", "Enable");
    form.set("AsyncAmd", "true");
    form.set("AsyncAmdStatusCallback", statusCallback);
    form.set("AsyncAmdStatusCallbackMethod", "POST");
  }
  return form;
}

/** `AnsweredBy` values that are not a person. `unknown` counts as one: the detection errs toward "human". */
const MACHINE = /^(machine_|fax$)/;

/** Terminal statuses that never reached the callee, with the error code recorded on the delivery. */
const NOT_REACHED: Record<string, { status: StatusUpdate["status"]; errorCode: string; permanent: boolean }> = {
  busy: { status: "undelivered", errorCode: "busy", permanent: false },
  "no-answer": { status: "undelivered", errorCode: "no_answer", permanent: false },
  failed: { status: "failed", errorCode: "call_failed", permanent: true },
  canceled: { status: "failed", errorCode: "call_canceled", permanent: false },
};

export interface CallProgress {
  update: StatusUpdate | null;
  /** A machine answered a call still under way: hang it up before the code is spoken into its recording. */
  hangUp: boolean;
}

/**
 * A call-progress or asynchronous-detection callback as a status update (null when it reports
 * nothing final: initiated, ringing, a person answered).
 */
export function callProgress(fields: URLSearchParams, minAnsweredSeconds: number): CallProgress {
  const sid = fields.get("CallSid") ?? "";
  const status = fields.get("CallStatus");
  const answeredBy = fields.get("AnsweredBy") ?? "";
  const machine = MACHINE.test(answeredBy);
  const notDelivered = (errorCode: string, errorMessage: string): StatusUpdate => ({
    providerMessageId: sid,
    status: "undelivered",
    errorCode,
    errorMessage,
    permanent: false,
  });
  // The asynchronous detection result comes without a CallStatus, while the call is under way.
  if (status === null) {
    return machine
      ? { update: notDelivered("answered_by_machine", `answered by ${answeredBy}`), hangUp: true }
      : { update: null, hangUp: false };
  }
  if (status === "in-progress") return { update: { providerMessageId: sid, status: "sent" }, hangUp: false };
  if (status === "completed") {
    if (machine) return { update: notDelivered("answered_by_machine", `answered by ${answeredBy}`), hangUp: false };
    const seconds = Number(fields.get("CallDuration") ?? "0");
    if (seconds < minAnsweredSeconds) {
      return { update: notDelivered("hung_up_early", `the call lasted ${seconds} s`), hangUp: false };
    }
    return { update: { providerMessageId: sid, status: "delivered" }, hangUp: false };
  }
  const failure = NOT_REACHED[status];
  if (!failure) return { update: null, hangUp: false }; // initiated, queued, ringing
  const sip = fields.get("SipResponseCode");
  return {
    update: {
      providerMessageId: sid,
      status: failure.status,
      errorCode: failure.errorCode,
      errorMessage: sip ? `SIP ${sip}` : status,
      permanent: failure.permanent,
    },
    hangUp: false,
  };
}

/** Whether a Twilio webhook is about a call (it carries `CallSid`) rather than a message. */
export function isCallCallback(request: WebhookRequest): boolean {
  const fields = request.method === "GET" ? new URL(request.url).searchParams : new URLSearchParams(request.rawBody);
  return fields.has("CallSid") && !fields.has("MessageSid") && !fields.has("SmsSid");
}

export interface CallCallbackDeps {
  authToken: string | undefined;
  minAnsweredSeconds: number;
  /** Ends a call under way (`Status=completed`); failures are the caller's to log, never the webhook's. */
  hangUp(callSid: string): Promise<void>;
}

/** Verifies and reads one call callback, hanging up a call a machine answered. */
export async function handleCallCallback(request: WebhookRequest, deps: CallCallbackDeps): Promise<WebhookResult> {
  if (!deps.authToken) return { kind: "rejected", reason: "authToken is required to verify Twilio webhooks" };
  const signature = request.headers["x-twilio-signature"];
  if (!signature) return { kind: "rejected", reason: "missing X-Twilio-Signature" };
  const params = request.method === "GET" ? new URLSearchParams() : new URLSearchParams(request.rawBody);
  if (!verifyTwilioSignature(deps.authToken, signature, request.url, params, request.rawBody)) {
    return { kind: "rejected", reason: "bad X-Twilio-Signature" };
  }
  const fields = request.method === "GET" ? new URL(request.url).searchParams : params;
  const progress = callProgress(fields, deps.minAnsweredSeconds);
  if (progress.hangUp && progress.update) await deps.hangUp(progress.update.providerMessageId);
  return { kind: "accepted", statuses: progress.update ? [progress.update] : [], inbound: [] };
}

/** `POST …/Calls/{sid}.json Status=completed`, which ends a call whether it rings or is under way. */
export async function hangUpCall(
  callsUrl: string,
  callSid: string,
  authorization: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  if (!/^CA[0-9a-fA-F]{32}$/.test(callSid)) return false;
  const response = await callProvider({
    method: "POST",
    url: `${callsUrl.replace(/\.json$/, "")}/${callSid}.json`,
    headers: { authorization, accept: "application/json" },
    body: new URLSearchParams({ Status: "completed" }),
    timeoutMs,
    signal,
  });
  return response.kind === "response" && response.ok;
}
