import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Channel, InboundMessage, StatusUpdate } from "../core/model.js";
import type { WebhookRequest, WebhookResult } from "../core/sender.js";
import { callEventStatus, isCallEvent } from "./vonage-voice.js";

/**
 * Vonage webhooks: Messages API status callbacks and inbound messages, and Voice API call events
 * (vonage-voice.ts), all signed the same way.
 * Each request carries `Authorization: Bearer <JWT>` signed HS256 with the account's signature secret;
 * its `payload_hash` claim is the SHA-256 (hex) of the body, and `iat` bounds replays.
 */

/** Clock difference tolerated between Vonage and us, on `iat` and `exp`. */
const LEEWAY_S = 60;

/**
 * Errors of the Messages API (https://developer.vonage.com/api-errors/messages) that describe a passing
 * condition rather than the recipient or the channel: throttling, platform or network trouble, a phone
 * that is off or busy, and a TTL that ran out (our TTL never outlives the code).
 */
const TRANSIENT_CODES = new Set(["1000", "1030", "1100", "1180", "1220", "1230", "1241", "1360"]);

export interface VonageWebhookOptions {
  /** The account's signature secret; without it no webhook can be trusted. */
  signatureSecret: string | undefined;
  /** Oldest `iat` accepted, in seconds. */
  maxAgeSeconds: number;
  /** Voice calls: a completed call shorter than this counts as undelivered. */
  minAnsweredSeconds?: number;
  now: () => number;
}

type Json = Record<string, unknown>;

export type JwtCheck = { ok: true; claims: Json } | { ok: false; reason: string };

function decodeSegment(segment: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** Checks a compact HS256 JWT's signature only; the claims are the caller's to judge. */
export function verifyHs256Jwt(token: string, secret: string): JwtCheck {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed token" };
  const [header = "", payload = "", signature = ""] = parts;
  // Only HS256: accepting the header's word would let "none" or an RS256/HS256 swap through.
  if (decodeSegment(header)?.alg !== "HS256") return { ok: false, reason: "unexpected token algorithm" };
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, "base64url");
  // Decoding ignores stray characters and the last character's spare bits: only the canonical form counts.
  const canonical = given.toString("base64url") === signature;
  if (!canonical || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad signature" };
  }
  const claims = decodeSegment(payload);
  return claims ? { ok: true, claims } : { ok: false, reason: "malformed token claims" };
}

function verifyRequest(request: WebhookRequest, options: VonageWebhookOptions): string | undefined {
  if (!options.signatureSecret) return "no signature secret configured";
  const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
  if (!token) return "missing bearer token";
  const check = verifyHs256Jwt(token, options.signatureSecret);
  if (!check.ok) return check.reason;
  const { payload_hash: payloadHash, iat, exp } = check.claims;
  // The signature covers the claims only; the hash claim is what ties the token to these bytes.
  const bodyHash = createHash("sha256").update(request.rawBody, "utf8").digest();
  const claimed = typeof payloadHash === "string" && /^[0-9a-f]{64}$/i.test(payloadHash) ? Buffer.from(payloadHash, "hex") : null;
  if (!claimed || !timingSafeEqual(claimed, bodyHash)) return "payload hash mismatch";
  const nowS = options.now() / 1000;
  if (typeof iat !== "number") return "token without iat";
  if (iat > nowS + LEEWAY_S) return "token issued in the future";
  if (nowS - iat > options.maxAgeSeconds + LEEWAY_S) return "token too old";
  if (typeof exp === "number" && nowS > exp + LEEWAY_S) return "token expired";
  return undefined;
}

/**
 * The provider's own error code: the fragment of the problem `type` URL when it is a number
 * (`…/api-errors/messages#1050`), else a numeric `title` (status callbacks put the code there too),
 * else the fragment as is (`…/api-errors#unauthorized`).
 */
export function vonageErrorCode(type: unknown, title: unknown): string | undefined {
  const fragment = typeof type === "string" && type.includes("#") ? type.slice(type.lastIndexOf("#") + 1) : "";
  if (/^\d+$/.test(fragment)) return fragment;
  if (typeof title === "number" || (typeof title === "string" && /^\d+$/.test(title))) return String(title);
  return fragment || undefined;
}

const STATUSES: Record<string, StatusUpdate["status"]> = {
  submitted: "sent",
  delivered: "delivered",
  read: "read",
  rejected: "failed",
  undeliverable: "undelivered",
};

const CHANNELS = new Set<string>(["sms", "whatsapp", "rcs"]);

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

function toStatusUpdate(event: Json): StatusUpdate | undefined {
  const providerMessageId = text(event.message_uuid);
  const status = STATUSES[String(event.status)];
  if (!providerMessageId || !status) return undefined;
  const update: StatusUpdate = { providerMessageId, status };
  if (status !== "failed" && status !== "undelivered") return update;
  const error = event.error !== null && typeof event.error === "object" ? (event.error as Json) : {};
  const code = vonageErrorCode(error.type, error.title);
  const message = text(error.detail) ?? text(error.title);
  if (code) update.errorCode = code;
  if (message) update.errorMessage = message.slice(0, 200);
  // `rejected` is Vonage or the provider refusing this message; `undeliverable` is Vonage failing to
  // reach the provider at all. A known error code says more than either.
  update.permanent = code ? !TRANSIENT_CODES.has(code) : status === "failed";
  return update;
}

function toInbound(event: Json): InboundMessage | undefined {
  const providerMessageId = text(event.message_uuid);
  const from = text(event.from);
  const channel = String(event.channel);
  if (!providerMessageId || !from || !CHANNELS.has(channel) || event.message_type !== "text") return undefined;
  return {
    providerMessageId,
    channel: channel as Channel,
    from: from.startsWith("+") ? from : `+${from}`,
    to: String(event.to ?? ""),
    text: String(event.text ?? ""),
  };
}

/** Verifies and parses one webhook: a status callback (`status` set) or an inbound message. */
export function handleVonageWebhook(request: WebhookRequest, options: VonageWebhookOptions): WebhookResult {
  if (request.method !== "POST") return { kind: "rejected", reason: "unexpected method" };
  const reason = verifyRequest(request, options);
  if (reason) return { kind: "rejected", reason };
  let event: unknown;
  try {
    event = JSON.parse(request.rawBody);
  } catch {
    // Signed by Vonage yet unreadable: acknowledge it so it is not redelivered forever.
    return { kind: "accepted", statuses: [], inbound: [] };
  }
  if (event === null || typeof event !== "object" || Array.isArray(event)) return { kind: "accepted", statuses: [], inbound: [] };
  const body = event as Json;
  if (isCallEvent(body)) {
    const update = callEventStatus(body, options.minAnsweredSeconds ?? 0);
    return { kind: "accepted", statuses: update ? [update] : [], inbound: [] };
  }
  if (body.status !== undefined) {
    const update = toStatusUpdate(body);
    return { kind: "accepted", statuses: update ? [update] : [], inbound: [] };
  }
  const inbound = toInbound(body);
  return { kind: "accepted", statuses: [], inbound: inbound ? [inbound] : [] };
}
