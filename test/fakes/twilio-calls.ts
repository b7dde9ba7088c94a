import { randomBytes } from "node:crypto";

/**
 * The Calls half of the Twilio fake (`POST …/Calls.json`, `POST …/Calls/{sid}.json`): it validates
 * the form as the API does, answers 201 with the Call resource or Twilio's error JSON, keeps every
 * placed call with its TwiML, and builds the call-progress callbacks Twilio would send — in order,
 * with increasing `SequenceNumber` — for the outcome a test asks for. Twilio's test credentials
 * never send call callbacks, so every scenario is the fake's.
 */

export interface PlacedCall {
  sid: string;
  to: string;
  from: string;
  twiml: string;
  /** The whole form as posted (StatusCallbackEvent repeated, so kept as the raw pairs). */
  form: [string, string][];
  statusCallback: string | null;
  asyncAmdCallback: string | null;
  /** Set when a `Status=completed` (or `canceled`) update ended the call. */
  endedBy: string | null;
}

/** How a call ends. `machine` is answered by a voicemail (asynchronous detection first, then completion). */
export type CallOutcome = "completed" | "busy" | "no-answer" | "failed" | "canceled" | "machine" | "hung-up-early";

/** Twilio's test-credential `To` numbers for calls. */
const MAGIC_TO: Record<string, { code: number; message: string }> = {
  "+15005550001": { code: 21217, message: "Phone number does not appear to be valid" },
  "+15005550002": { code: 21214, message: "'To' phone number cannot be reached" },
  "+15005550003": { code: 21215, message: "Geo Permissions do not allow calls to this destination" },
  "+15005550004": { code: 21216, message: "Phone number is blocked" },
};

export type Reply = { status: number; body: string };

export function createCallsApi(accountSid: string, errorJson: (status: number, code: number, message: string) => string) {
  const calls: PlacedCall[] = [];
  const base = `/2010-04-01/Accounts/${accountSid}/Calls`;

  function place(pairs: [string, string][]): Reply {
    const form = Object.fromEntries(pairs);
    const { To: to, From: from, Twiml: twiml, Url: url } = form;
    if (!to) return { status: 400, body: errorJson(400, 21201, "No 'To' number is specified") };
    if (!from) return { status: 400, body: errorJson(400, 21213, "No 'From' number is specified") };
    if (!/^\+[1-9]\d{6,14}$/.test(to)) return { status: 400, body: errorJson(400, 21211, `Invalid 'To' Phone Number: ${to}`) };
    if (twiml === undefined && url === undefined) {
      return { status: 400, body: errorJson(400, 21205, "Url, Twiml or ApplicationSid is required") };
    }
    if (twiml !== undefined && (twiml.length > 4000 || !twiml.includes("<Response>"))) {
      return { status: 400, body: errorJson(400, 13520, "Invalid Twiml") };
    }
    for (const name of ["Timeout", "TimeLimit"]) {
      if (form[name] !== undefined && !/^\d+$/.test(form[name] as string)) {
        return { status: 400, body: errorJson(400, 21220, `Invalid ${name}`) };
      }
    }
    const magic = MAGIC_TO[to];
    if (magic) return { status: 400, body: errorJson(400, magic.code, magic.message) };
    const sid = `CA${randomBytes(16).toString("hex")}`;
    calls.push({
      sid,
      to,
      from,
      twiml: twiml ?? "",
      form: pairs,
      statusCallback: form.StatusCallback ?? null,
      asyncAmdCallback: form.AsyncAmd === "true" ? (form.AsyncAmdStatusCallback ?? null) : null,
      endedBy: null,
    });
    return {
      status: 201,
      body: JSON.stringify({
        sid,
        account_sid: accountSid,
        to,
        from,
        status: "queued",
        direction: "outbound-api",
        duration: null,
        answered_by: null,
        price: null,
        api_version: "2010-04-01",
        date_created: new Date().toUTCString(),
        uri: `${base}/${sid}.json`,
      }),
    };
  }

  function update(sid: string, form: Record<string, string>): Reply {
    const call = calls.find((c) => c.sid === sid);
    if (!call) return { status: 404, body: errorJson(404, 20404, `The requested resource ${base}/${sid}.json was not found`) };
    if (form.Status !== "completed" && form.Status !== "canceled") {
      return { status: 400, body: errorJson(400, 21220, "Invalid call state") };
    }
    call.endedBy = form.Status;
    return { status: 200, body: JSON.stringify({ sid, account_sid: accountSid, status: form.Status }) };
  }

  /** The parameters Twilio puts in every callback about this call. */
  const common = (call: PlacedCall): Record<string, string> => ({
    AccountSid: accountSid,
    ApiVersion: "2010-04-01",
    CallSid: call.sid,
    CallbackSource: "call-progress-events",
    Called: call.to,
    Caller: call.from,
    Direction: "outbound-api",
    From: call.from,
    To: call.to,
    ParentCallSid: "",
  });

  /** The callbacks of one call, in the order Twilio sends them, as (url, parameters). */
  function progress(sid: string, outcome: CallOutcome, duration = 24): [string, Record<string, string>][] {
    const call = calls.find((c) => c.sid === sid);
    if (!call) throw new Error(`the fake placed no call ${sid}`);
    if (!call.statusCallback) throw new Error(`${sid} was placed without a StatusCallback`);
    const url = call.statusCallback;
    let sequence = 0;
    const event = (status: string, extra: Record<string, string> = {}): [string, Record<string, string>] => [
      url,
      {
        ...common(call),
        CallStatus: status,
        SequenceNumber: String(sequence++),
        Timestamp: new Date().toUTCString(),
        ...extra,
      },
    ];
    const out = [event("initiated"), event("ringing")];
    if (outcome === "busy" || outcome === "no-answer" || outcome === "failed" || outcome === "canceled") {
      const sip = { busy: "486", "no-answer": "487", failed: "404", canceled: "487" }[outcome];
      out.push(event(outcome, { CallDuration: "0", SipResponseCode: sip }));
      return out;
    }
    out.push(event("in-progress"));
    if (outcome === "machine") {
      if (call.asyncAmdCallback) {
        out.push([
          call.asyncAmdCallback,
          { AccountSid: accountSid, CallSid: call.sid, AnsweredBy: "machine_start", MachineDetectionDuration: "2417" },
        ]);
      }
      out.push(event("completed", { CallDuration: "4", AnsweredBy: "machine_start" }));
      return out;
    }
    const seconds = outcome === "hung-up-early" ? 2 : duration;
    const answered: Record<string, string> = call.asyncAmdCallback ? { AnsweredBy: "human" } : {};
    out.push(event("completed", { CallDuration: String(seconds), ...answered }));
    return out;
  }

  return {
    calls,
    /** Answers a request to the Calls resource, or null when the path is not one of its own. */
    answer(method: string, path: string, body: string): Reply | null {
      if (method !== "POST" || !path.startsWith(base)) return null;
      const pairs = [...new URLSearchParams(body)];
      if (path === `${base}.json`) return place(pairs);
      const sid = /^\/(CA[0-9a-f]{32})\.json$/.exec(path.slice(base.length))?.[1];
      return sid ? update(sid, Object.fromEntries(pairs)) : null;
    },
    progress,
  };
}
