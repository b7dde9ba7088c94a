import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Channel, InboundMessage, StatusUpdate } from "../core/model.js";
import type { WebhookRequest, WebhookResult } from "../core/sender.js";

/**
 * Twilio webhooks: message status callbacks and incoming messages, both form-encoded POSTs signed
 * with `X-Twilio-Signature` = base64 HMAC-SHA1(authToken, URL + sorted name/value pairs).
 * The Auth Token signs webhooks even when the REST API is called with an API key.
 */

/** The empty TwiML document: "received, send no reply". */
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

/** Callback error codes: whether they rule out this recipient/channel, and what they mean. */
const CALLBACK_ERRORS: Record<string, { permanent: boolean; message: string }> = {
  "30001": { permanent: false, message: "queue overflow" },
  "30002": { permanent: true, message: "account suspended" },
  "30003": { permanent: false, message: "unreachable destination handset" },
  "30004": { permanent: true, message: "message blocked" },
  "30005": { permanent: true, message: "unknown destination handset" },
  "30006": { permanent: true, message: "landline or unreachable carrier" },
  "30007": { permanent: true, message: "filtered by the carrier" },
  "30008": { permanent: false, message: "unknown error" },
  "30034": { permanent: true, message: "sender not registered for A2P 10DLC" },
  "63003": { permanent: true, message: "the channel could not find the recipient" },
  "63016": { permanent: true, message: "free-form WhatsApp message outside the 24-hour window" },
  "63018": { permanent: false, message: "channel rate limit exceeded" },
};

/**
 * The expected `X-Twilio-Signature` for a URL and its form parameters: names sorted by byte order,
 * each appended as name+value (a repeated name: its distinct values sorted, one name+value each).
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort(byteOrder);
  let data = url;
  for (const name of names) {
    for (const value of [...new Set(params.getAll(name))].sort(byteOrder)) data += name + value;
  }
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

/**
 * Checks a signature against the URL with and without its default port (`:443`/`:80`), since Twilio
 * signs either form. A URL carrying `bodySHA256` (JSON-bodied webhooks) is signed without parameters
 * and the body is checked against that hash instead.
 */
export function verifyTwilioSignature(
  authToken: string,
  signature: string,
  url: string,
  params: URLSearchParams,
  rawBody = "",
): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const bodyHash = parsed.searchParams.get("bodySHA256");
  const signed = bodyHash === null ? params : new URLSearchParams();
  let valid = false;
  // Every candidate is compared (no early exit), so timing does not tell which one failed.
  for (const candidate of new Set([url, ...urlVariants(parsed)])) {
    valid = sameText(signature, twilioSignature(authToken, candidate, signed)) || valid;
  }
  if (bodyHash !== null) valid = sameText(bodyHash, createHash("sha256").update(rawBody, "utf8").digest("hex")) && valid;
  return valid;
}

export function handleTwilioWebhook(request: WebhookRequest, authToken: string | undefined): WebhookResult {
  // Without the Auth Token nothing can be verified, and unverified statuses must not move deliveries.
  if (!authToken) return { kind: "rejected", reason: "authToken is required to verify Twilio webhooks" };
  const signature = request.headers["x-twilio-signature"];
  if (!signature) return { kind: "rejected", reason: "missing X-Twilio-Signature" };
  // Twilio can be told to call incoming-message URLs with GET: the parameters are then in the URL already.
  const params = request.method === "GET" ? new URLSearchParams() : new URLSearchParams(request.rawBody);
  if (!verifyTwilioSignature(authToken, signature, request.url, params, request.rawBody)) {
    return { kind: "rejected", reason: "bad X-Twilio-Signature" };
  }

  const fields = request.method === "GET" ? searchParamsOf(request.url) : params;
  const status = toStatus(fields);
  if (status !== undefined) return { kind: "accepted", statuses: status ? [status] : [], inbound: [] };
  const inbound = toInbound(fields);
  // An incoming-message webhook expects TwiML back; an empty <Response/> sends no auto-reply.
  return {
    kind: "accepted",
    statuses: [],
    inbound: inbound ? [inbound] : [],
    response: { status: 200, contentType: "text/xml", body: EMPTY_TWIML },
  };
}

/**
 * A status callback's update: null for a status callback with nothing to report (queued, sending…),
 * undefined when the request is not a status callback for an outbound message.
 */
function toStatus(fields: URLSearchParams): StatusUpdate | null | undefined {
  const sid = fields.get("MessageSid") ?? fields.get("SmsSid");
  const status = fields.get("MessageStatus");
  if (!sid || !status || status === "received" || status === "receiving") return undefined;
  switch (status) {
    case "sent":
    case "delivered":
    case "read":
      return { providerMessageId: sid, status };
    case "undelivered":
    case "failed":
      return { providerMessageId: sid, status, ...callbackError(fields.get("ErrorCode")) };
    default:
      // accepted, scheduled, queued, sending: still on its way. canceled and partially_delivered only
      // happen to scheduled and multi-recipient messages, which this adapter never sends.
      return null;
  }
}

function callbackError(code: string | null): Pick<StatusUpdate, "errorCode" | "errorMessage" | "permanent"> {
  if (!code) return {};
  const known = CALLBACK_ERRORS[code];
  // Unknown codes leave `permanent` unset: the delivery layer decides with its own default.
  return known ? { errorCode: code, errorMessage: known.message, permanent: known.permanent } : { errorCode: code };
}

/** A message the user sent to our number or WhatsApp sender (STOP, a code sent back…). */
function toInbound(fields: URLSearchParams): InboundMessage | null {
  const sid = fields.get("MessageSid") ?? fields.get("SmsMessageSid") ?? fields.get("SmsSid");
  const status = fields.get("SmsStatus") ?? fields.get("MessageStatus");
  const from = fields.get("From");
  const to = fields.get("To");
  const text = fields.get("Body");
  if (!sid || status !== "received" || !from || !to || text === null) return null;
  const channel: Channel = from.startsWith("whatsapp:") ? "whatsapp" : "sms";
  return { providerMessageId: sid, channel, from: stripWhatsapp(from), to: stripWhatsapp(to), text };
}

function stripWhatsapp(address: string): string {
  return address.startsWith("whatsapp:") ? address.slice("whatsapp:".length) : address;
}

/** The URL normalised and, when it has no explicit port, with the scheme's default port. */
function urlVariants(url: URL): string[] {
  const plain = url.toString();
  // `URL` drops a default port, so an empty port means "none or the default one".
  if (url.port !== "") return [plain];
  const port = url.protocol === "https:" ? "443" : url.protocol === "http:" ? "80" : "";
  if (!port) return [plain];
  const auth = url.username || url.password ? `${url.username}${url.password ? `:${url.password}` : ""}@` : "";
  return [plain, `${url.protocol}//${auth}${url.host}:${port}${url.pathname}${url.search}${url.hash}`];
}

function searchParamsOf(url: string): URLSearchParams {
  try {
    return new URL(url).searchParams;
  } catch {
    return new URLSearchParams();
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Constant-time comparison of two strings (the length is not secret). */
function sameText(received: string, expected: string): boolean {
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
