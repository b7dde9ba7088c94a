import { z } from "zod";
import type { StatusUpdate } from "../core/model.js";
import type { OutboundMessage } from "../core/sender.js";
import { speechFor } from "./voice-speech.js";

/**
 * Vonage Voice API for the `voice` channel: `POST /v1/calls` with an inline NCCO whose `talk`
 * action says the sentence (the code digit by digit) in the message's language, and signed event
 * webhooks (same signature as the Messages API's). A call counts as delivered when it completed
 * after being answered, long enough to hear the code; busy, unanswered, rejected, failed or a
 * machine (which Vonage hangs up itself when asked to) are undelivered.
 */

export const vonageVoiceSchema = z
  .object({
    /** The caller id: a number of the Vonage application, digits only (a leading + is dropped). */
    from: z
      .string()
      .regex(/^\+?[1-9]\d{6,14}$/, { message: "must be a phone number, e.g. 447700900001" })
      .transform((n) => n.replace(/^\+/, "")),
    /** Vonage detects an answering machine and hangs up (`machine_detection: hangup`): the code is never left on a voicemail. */
    machineDetection: z.boolean().default(false),
    /** Seconds of ringing before giving up (`ringing_timer`). */
    ringSeconds: z.number().int().min(5).max(120).default(25),
    /** The longest a call may last (`length_timer`). */
    maxCallSeconds: z.number().int().min(10).max(600).default(90),
    /** How many times the sentence is said (`loop`). */
    repeat: z.number().int().min(1).max(5).default(3),
    /** A completed call shorter than this was hung up before the code was heard: undelivered. */
    minAnsweredSeconds: z.number().int().min(0).max(120).default(6),
    /** Language and style per message locale, over the built-in choice (voice-speech.ts). */
    voices: z
      .record(z.string(), z.object({ language: z.string().min(2), style: z.number().int().min(0).max(20).default(0) }).strict())
      .default({}),
  })
  .strict();

export type VonageVoiceConfig = z.infer<typeof vonageVoiceSchema>;

/** The `/v1/calls` body of one call. */
export function callBody(message: OutboundMessage, config: VonageVoiceConfig, eventUrl: string | undefined) {
  const speech = speechFor(message.locale, "vonage", config.voices);
  return {
    to: [{ type: "phone", number: message.to.replace(/^\+/, "") }],
    from: { type: "phone", number: config.from },
    ncco: [
      {
        action: "talk",
        text: message.body,
        language: speech.language,
        style: speech.style,
        premium: false,
        loop: config.repeat,
      },
    ],
    ...(eventUrl ? { event_url: [eventUrl], event_method: "POST" } : {}),
    ringing_timer: config.ringSeconds,
    length_timer: config.maxCallSeconds,
    ...(config.machineDetection ? { machine_detection: "hangup" } : {}),
  };
}

type Json = Record<string, unknown>;

/** Final statuses of a call that never reached a person, with the code recorded on the delivery. */
const NOT_REACHED: Record<string, { status: StatusUpdate["status"]; errorCode: string; permanent: boolean }> = {
  busy: { status: "undelivered", errorCode: "busy", permanent: false },
  timeout: { status: "undelivered", errorCode: "no_answer", permanent: false },
  unanswered: { status: "undelivered", errorCode: "no_answer", permanent: false },
  machine: { status: "undelivered", errorCode: "answered_by_machine", permanent: false },
  rejected: { status: "failed", errorCode: "call_rejected", permanent: true },
  failed: { status: "failed", errorCode: "call_failed", permanent: true },
  cancelled: { status: "failed", errorCode: "call_canceled", permanent: false },
};

/** `detail` values that mean the number cannot be called at all, rather than not now. */
const UNREACHABLE = new Set(["invalid_number", "number_out_of_service", "cannot_route", "restricted"]);

/** Whether a Vonage webhook body is a Voice API call event (it names a call, not a message). */
export function isCallEvent(event: Json): boolean {
  return event.message_uuid === undefined && (typeof event.uuid === "string" || typeof event.call_uuid === "string");
}

/** A call event as a status update; null when it reports nothing final (started, ringing, a person answered). */
export function callEventStatus(event: Json, minAnsweredSeconds: number): StatusUpdate | null {
  // `human` and `machine` events name the call in `call_uuid`; the others in `uuid`.
  const id = typeof event.uuid === "string" ? event.uuid : typeof event.call_uuid === "string" ? event.call_uuid : "";
  const status = String(event.status ?? "");
  if (!id) return null;
  if (status === "answered") return { providerMessageId: id, status: "sent" };
  if (status === "completed") {
    const seconds = Number(event.duration ?? "0");
    if (seconds < minAnsweredSeconds) {
      return {
        providerMessageId: id,
        status: "undelivered",
        errorCode: "hung_up_early",
        errorMessage: `the call lasted ${seconds} s`,
      };
    }
    return { providerMessageId: id, status: "delivered" };
  }
  const failure = NOT_REACHED[status];
  if (!failure) return null;
  const detail = typeof event.detail === "string" ? event.detail : undefined;
  return {
    providerMessageId: id,
    status: failure.status,
    errorCode: failure.errorCode,
    errorMessage: detail ?? status,
    permanent: failure.permanent || (detail !== undefined && UNREACHABLE.has(detail)),
  };
}
