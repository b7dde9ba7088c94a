import { createHmac, timingSafeEqual } from "node:crypto";
import type { InboundMessage, StatusUpdate } from "../core/model.js";
import type { WebhookRequest, WebhookResult } from "../core/sender.js";

/**
 * RBM webhooks: agent events (DELIVERED, READ), server events (TTL expiry) and user messages,
 * each wrapped in a Pub/Sub-push-style envelope `{"message":{"data":"<base64 JSON>",…}}` and signed
 * with `X-Goog-Signature` = base64 HMAC-SHA512(clientToken, base64-decoded data). Setting the
 * webhook up in the console sends an unsigned `{"clientToken","secret"}` handshake first.
 */

export interface RbmWebhookOptions {
  clientToken: string;
  /** The agent, reported as the `to` of inbound messages. */
  agentId: string;
}

interface Envelope {
  clientToken?: unknown;
  secret?: unknown;
  message?: { data?: unknown };
}

/** The decoded `message.data`: a UserEvent, a server event or a UserMessage. */
interface RbmPayload {
  eventType?: unknown;
  messageId?: unknown;
  senderPhoneNumber?: unknown;
  text?: unknown;
}

export function handleRbmWebhook(request: WebhookRequest, options: RbmWebhookOptions): WebhookResult {
  if (request.method !== "POST") return { kind: "rejected", reason: "RBM webhooks are POSTs" };
  let envelope: Envelope;
  try {
    envelope = JSON.parse(request.rawBody) as Envelope;
  } catch {
    return { kind: "rejected", reason: "body is not JSON" };
  }
  if (envelope === null || typeof envelope !== "object") return { kind: "rejected", reason: "body is not an object" };

  // Handshake: proving we know the client token, Google expects the raw secret back as the body.
  if (envelope.message === undefined && typeof envelope.clientToken === "string" && typeof envelope.secret === "string") {
    return sameText(envelope.clientToken, options.clientToken)
      ? { kind: "challenge", body: envelope.secret }
      : { kind: "rejected", reason: "handshake client token does not match" };
  }

  const data = envelope.message?.data;
  if (typeof data !== "string") return { kind: "rejected", reason: "no message.data" };
  const signature = request.headers["x-goog-signature"];
  if (!signature) return { kind: "rejected", reason: "missing X-Goog-Signature" };
  const decoded = Buffer.from(data, "base64");
  const expected = createHmac("sha512", options.clientToken).update(decoded).digest("base64");
  if (!sameText(signature, expected)) return { kind: "rejected", reason: "bad X-Goog-Signature" };

  let payload: RbmPayload;
  try {
    payload = JSON.parse(decoded.toString("utf8")) as RbmPayload;
  } catch {
    // Signed by Google yet unreadable: acknowledge anyway, since a non-2xx stalls the partner's whole queue.
    return { kind: "accepted", statuses: [], inbound: [] };
  }
  const status = toStatus(payload);
  const inbound = toInbound(payload, options.agentId);
  return { kind: "accepted", statuses: status ? [status] : [], inbound: inbound ? [inbound] : [] };
}

function toStatus(payload: RbmPayload): StatusUpdate | null {
  if (typeof payload.messageId !== "string" || typeof payload.eventType !== "string") return null;
  const providerMessageId = payload.messageId;
  switch (payload.eventType) {
    case "DELIVERED":
      return { providerMessageId, status: "delivered" };
    case "READ":
      return { providerMessageId, status: "read" };
    // The TTL ran out before the device took the message and Google withdrew it: it will never
    // arrive over RCS, so the route may fall back. (…_REVOKE_FAILED means it may still arrive: ignored.)
    case "TTL_EXPIRATION_REVOKED":
      return {
        providerMessageId,
        status: "failed",
        errorCode: "TTL_EXPIRATION_REVOKED",
        errorMessage: "expired before delivery and revoked",
        permanent: true,
      };
    default:
      // IS_TYPING, TTL_EXPIRATION_REVOKE_FAILED and events this adapter has no use for.
      return null;
  }
}

/** Text the user typed (e.g. STOP). Suggestion taps, locations and files are not of interest for OTPs. */
function toInbound(payload: RbmPayload, agentId: string): InboundMessage | null {
  if (payload.eventType !== undefined) return null;
  if (typeof payload.text !== "string" || typeof payload.senderPhoneNumber !== "string") return null;
  if (typeof payload.messageId !== "string") return null;
  return {
    providerMessageId: payload.messageId,
    channel: "rcs",
    from: payload.senderPhoneNumber,
    to: agentId,
    text: payload.text,
  };
}

/** Constant-time comparison of two strings (the length is not secret). */
function sameText(received: string, expected: string): boolean {
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
