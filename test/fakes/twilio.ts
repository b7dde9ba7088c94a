import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookRequest } from "../../src/core/sender.js";
import { type CallOutcome, createCallsApi, type PlacedCall } from "./twilio-calls.js";

/**
 * A local stand-in for Twilio's Messages API (2010-04-01): Basic auth with the account's Auth Token or an
 * API key, form-encoded bodies, 201 + Message resource JSON, Twilio's error JSON, and the magic `To`
 * numbers of Twilio's test credentials. It also builds status callbacks and incoming-message webhooks
 * signed the way Twilio signs them (its own signer, independent of the adapter's).
 */

export interface TwilioApiRequest {
  method: string;
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
  /** The body decoded as a form (empty when the content type is not a form). */
  form: Record<string, string>;
}

export interface SentMessage {
  sid: string;
  to: string;
  from: string;
  statusCallback: string | null;
}

export interface ForcedAnswer {
  status: number;
  /** Twilio's error code; without it the answer is a non-JSON body, as a proxy in front of Twilio would send. */
  code?: number;
  message?: string;
  headers?: Record<string, string>;
}

export interface CallbackOptions {
  errorCode?: string;
  /** The URL the callback goes to: by default the message's StatusCallback. */
  url?: string;
  /** Sign a different URL than the one called (Twilio sometimes signs with the default port). */
  signedUrl?: string;
  /** Sign with another token (a forgery). */
  authToken?: string;
}

export interface InboundOptions {
  url: string;
  from: string;
  to: string;
  body: string;
  sid?: string;
}

export interface FakeTwilio {
  /** `http://127.0.0.1:<port>`: the adapter's baseUrl. */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  apiKeySid: string;
  apiKeySecret: string;
  requests: TwilioApiRequest[];
  messages: SentMessage[];
  /** Calls placed through `Calls.json`, with their TwiML. */
  calls: PlacedCall[];
  /** The signed callbacks of a call ending as `outcome`, in Twilio's order (see twilio-calls.ts). */
  callProgress(sid: string, outcome: CallOutcome, options?: { duration?: number }): WebhookRequest[];
  /** The next API call gets this answer instead of being processed. */
  failNext(answer: ForcedAnswer): void;
  /** A signed status callback for a message this fake accepted. */
  statusCallback(sid: string, status: string, options?: CallbackOptions): WebhookRequest;
  /** A signed incoming-message webhook (SMS, or WhatsApp when the addresses carry `whatsapp:`). */
  inbound(options: InboundOptions): WebhookRequest;
  /** `X-Twilio-Signature` for a URL and form parameters. */
  sign(url: string, params: Record<string, string>, authToken?: string): string;
  close(): Promise<void>;
}

/** Twilio's test credentials: these `To` numbers fail the same way on the real API. */
const MAGIC_TO: Record<string, { code: number; message: (to: string) => string }> = {
  "+15005550001": { code: 21211, message: (to) => `The 'To' number ${to} is not a valid phone number.` },
  "+15005550002": { code: 21612, message: (to) => `The 'To' phone number: ${to}, is not currently reachable via SMS.` },
  "+15005550003": {
    code: 21408,
    message: (to) => `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
  },
  "+15005550004": { code: 21610, message: () => "Attempt to send to unsubscribed recipient" },
  "+15005550009": { code: 21614, message: (to) => `'To' number ${to} is not a valid mobile number` },
};

const hexSid = (prefix: string) => `${prefix}${randomBytes(16).toString("hex")}`;

export async function startFakeTwilio(): Promise<FakeTwilio> {
  const accountSid = hexSid("AC");
  const authToken = randomBytes(16).toString("hex");
  const apiKeySid = hexSid("SK");
  const apiKeySecret = randomBytes(16).toString("base64url");
  const requests: TwilioApiRequest[] = [];
  const messages: SentMessage[] = [];
  const forced: ForcedAnswer[] = [];
  const callsApi = createCallsApi(accountSid, (status, code, message) => errorJson(status, code, message));

  const errorJson = (status: number, code: number, message: string) =>
    JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

  const credentialsOk = (header: string | undefined): boolean => {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? "");
    if (!match?.[1]) return false;
    const decoded = Buffer.from(match[1], "base64").toString("utf8");
    return decoded === `${accountSid}:${authToken}` || decoded === `${apiKeySid}:${apiKeySecret}`;
  };

  /** Processes a send the way the API does: auth, then parameters, then the magic numbers. */
  const answer = (req: TwilioApiRequest): { status: number; body: string; headers?: Record<string, string> } => {
    const next = forced.shift();
    if (next) {
      if (next.code === undefined)
        return { status: next.status, body: "<html><body>Unavailable</body></html>", headers: next.headers };
      return { status: next.status, body: errorJson(next.status, next.code, next.message ?? "Error"), headers: next.headers };
    }
    const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
    if (req.method !== "POST" || !req.path.startsWith("/2010-04-01/Accounts/")) {
      return { status: 404, body: errorJson(404, 20404, `The requested resource ${req.path} was not found`) };
    }
    if (!credentialsOk(req.headers.authorization)) return { status: 401, body: errorJson(401, 20003, "Authenticate") };
    const call = callsApi.answer(req.method, req.path, req.body);
    if (call) return call;
    if (req.path !== path)
      return { status: 404, body: errorJson(404, 20404, `The requested resource ${req.path} was not found`) };

    const { To: to, From: from, MessagingServiceSid: service, Body: text, ContentSid: contentSid } = req.form;
    if (!to) return { status: 400, body: errorJson(400, 21604, "A 'To' phone number is required.") };
    if (!from && !service) return { status: 400, body: errorJson(400, 21603, "A 'From' phone number is required.") };
    if (text === undefined && !contentSid) return { status: 400, body: errorJson(400, 21602, "Message body is required.") };
    if (contentSid !== undefined) {
      if (!/^HX[0-9a-f]{32}$/i.test(contentSid)) return { status: 400, body: errorJson(400, 21655, "The ContentSid is Invalid") };
      if (!isJsonObject(req.form.ContentVariables)) {
        return { status: 400, body: errorJson(400, 21656, "The ContentVariables Parameter is invalid") };
      }
    }
    const validity = req.form.ValidityPeriod;
    if (validity !== undefined && !(/^\d+$/.test(validity) && Number(validity) >= 1 && Number(validity) <= 36_000)) {
      return { status: 400, body: errorJson(400, 21624, "Invalid validity period value") };
    }
    const bare = to.replace(/^whatsapp:/, "");
    const magic = MAGIC_TO[bare];
    if (magic) return { status: 400, body: errorJson(400, magic.code, magic.message(bare)) };

    const sid = hexSid("SM");
    messages.push({ sid, to, from: from ?? "", statusCallback: req.form.StatusCallback ?? null });
    return {
      status: 201,
      body: JSON.stringify({
        sid,
        account_sid: accountSid,
        to,
        from: from ?? null,
        messaging_service_sid: service ?? null,
        body: text ?? "",
        // Sent through a Messaging Service, a message starts `accepted`; with a From, `queued`.
        status: service ? "accepted" : "queued",
        num_segments: "1",
        direction: "outbound-api",
        api_version: "2010-04-01",
        error_code: null,
        error_message: null,
        price: null,
        date_created: new Date().toUTCString(),
        uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
      }),
    };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers = flatten(req.headers);
      const body = Buffer.concat(chunks).toString("utf8");
      // Twilio reads parameters only from a form body; anything else arrives as "no parameters".
      const isForm = (headers["content-type"] ?? "").split(";")[0]?.trim() === "application/x-www-form-urlencoded";
      const request: TwilioApiRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers,
        body,
        form: isForm ? Object.fromEntries(new URLSearchParams(body)) : {},
      };
      requests.push(request);
      const reply = answer(request);
      const json = reply.body.startsWith("{");
      res.writeHead(reply.status, { "content-type": json ? "application/json; charset=utf-8" : "text/html", ...reply.headers });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const sign = (url: string, params: Record<string, string>, token = authToken) => {
    let data = url;
    for (const name of Object.keys(params).sort()) data += name + params[name];
    return createHmac("sha1", token).update(data, "utf8").digest("base64");
  };

  const signedPost = (url: string, params: Record<string, string>, signedUrl = url, token = authToken): WebhookRequest => ({
    method: "POST",
    url,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "user-agent": "TwilioProxy/1.1",
      "i-twilio-idempotency-token": randomBytes(16).toString("hex"),
      "x-twilio-signature": sign(signedUrl, params, token),
    },
    rawBody: new URLSearchParams(params).toString(),
  });

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    apiKeySid,
    apiKeySecret,
    requests,
    messages,
    calls: callsApi.calls,
    callProgress(sid, outcome, options = {}) {
      return callsApi.progress(sid, outcome, options.duration).map(([url, params]) => signedPost(url, params));
    },
    failNext(next) {
      forced.push(next);
    },
    statusCallback(sid, status, options = {}) {
      const message = messages.find((m) => m.sid === sid);
      if (!message) throw new Error(`the fake never accepted ${sid}`);
      const url = options.url ?? message.statusCallback;
      if (!url) throw new Error(`${sid} was sent without a StatusCallback`);
      const params: Record<string, string> = {
        SmsSid: sid,
        SmsStatus: status,
        MessageStatus: status,
        To: message.to,
        MessageSid: sid,
        AccountSid: accountSid,
        From: message.from,
        ApiVersion: "2010-04-01",
      };
      if (options.errorCode) params.ErrorCode = options.errorCode;
      if (status === "delivered") params.RawDlrDoneDate = "2601151200";
      return signedPost(url, params, options.signedUrl, options.authToken);
    },
    inbound(options) {
      const sid = options.sid ?? hexSid("SM");
      const params: Record<string, string> = {
        ToCountry: "US",
        SmsMessageSid: sid,
        NumMedia: "0",
        SmsSid: sid,
        SmsStatus: "received",
        Body: options.body,
        To: options.to,
        NumSegments: "1",
        MessageSid: sid,
        AccountSid: accountSid,
        From: options.from,
        ApiVersion: "2010-04-01",
      };
      if (options.from.startsWith("whatsapp:")) {
        params.ProfileName = "Ada";
        params.WaId = options.from.replace(/^whatsapp:\+/, "");
        params.MessageType = "text";
      }
      return signedPost(options.url, params);
    },
    sign,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function isJsonObject(text: string | undefined): boolean {
  if (text === undefined) return false;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value);
  } catch {
    return false;
  }
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
