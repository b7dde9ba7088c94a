import { createPublicKey, type KeyObject, verify } from "node:crypto";
import type { StatusUpdate } from "../core/model.js";
import type { WebhookRequest, WebhookResult } from "../core/sender.js";
import { redactEmail } from "./email-parts.js";

/**
 * SendGrid's Signed Event Webhook: a JSON array of events, signed ECDSA P-256 / SHA-256 over the
 * `X-Twilio-Email-Event-Webhook-Timestamp` value followed by the exact body bytes, the signature
 * (DER, base64) in `X-Twilio-Email-Event-Webhook-Signature`. A bounce or a drop is a failed
 * delivery (the route moves on); `deferred` is SendGrid still trying, and reports nothing.
 */

const SIGNATURE = "x-twilio-email-event-webhook-signature";
const TIMESTAMP = "x-twilio-email-event-webhook-timestamp";
/** Clock difference tolerated with SendGrid, on top of the configured age. */
const LEEWAY_S = 60;

export interface SendgridWebhookOptions {
  /** Base64 of the DER SubjectPublicKeyInfo SendGrid shows for the signed webhook. */
  publicKey: string | undefined;
  maxAgeSeconds: number;
  now: () => number;
}

const keys = new Map<string, KeyObject | null>();

/** The verification key, parsed once; null when the setting is not a P-256 public key. */
function keyOf(publicKey: string): KeyObject | null {
  if (!keys.has(publicKey)) {
    let key: KeyObject | null = null;
    try {
      key = createPublicKey({ key: Buffer.from(publicKey, "base64"), format: "der", type: "spki" });
      if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") key = null;
    } catch {
      key = null;
    }
    keys.set(publicKey, key);
  }
  return keys.get(publicKey) ?? null;
}

/** Whether `signature` signs `timestamp + rawBody` under the key (ECDSA P-256, SHA-256, DER). */
export function verifySendgridSignature(publicKey: string, signature: string, timestamp: string, rawBody: string): boolean {
  const key = keyOf(publicKey);
  if (!key) return false;
  try {
    return verify("sha256", Buffer.from(timestamp + rawBody, "utf8"), key, Buffer.from(signature, "base64"));
  } catch {
    return false;
  }
}

type Json = Record<string, unknown>;
const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);

/** The id Mail Send answered (`X-Message-Id`) is the part of `sg_message_id` before its first dot. */
const messageIdOf = (event: Json) => text(event.sg_message_id)?.split(".")[0];

function toStatus(event: Json): StatusUpdate | null {
  const providerMessageId = messageIdOf(event);
  if (!providerMessageId) return null;
  const reason = (value: unknown) => redactEmail(text(value) ?? "", text(event.email) ?? "", "").slice(0, 200) || undefined;
  switch (event.event) {
    case "delivered":
      return { providerMessageId, status: "delivered" };
    case "bounce": {
      // `blocked` is a refusal that may pass (reputation, rate); `bounce` a hard one.
      const blocked = event.type === "blocked";
      const status = text(event.status);
      return {
        providerMessageId,
        status: "undelivered",
        errorCode: blocked ? "blocked" : "bounce",
        errorMessage: reason(event.reason) ?? status,
        permanent: !blocked,
      };
    }
    case "dropped":
      return { providerMessageId, status: "failed", errorCode: "dropped", errorMessage: reason(event.reason), permanent: true };
    default:
      // processed, deferred (SendGrid retries), open, click, spamreport, unsubscribe…: nothing for the route.
      return null;
  }
}

export function handleSendgridWebhook(request: WebhookRequest, options: SendgridWebhookOptions): WebhookResult {
  if (request.method !== "POST") return { kind: "rejected", reason: "unexpected method" };
  if (!options.publicKey) return { kind: "rejected", reason: "no webhookPublicKey configured" };
  const signature = request.headers[SIGNATURE];
  const timestamp = request.headers[TIMESTAMP];
  if (!signature || !timestamp) return { kind: "rejected", reason: "missing signature headers" };
  if (!/^\d{1,12}$/.test(timestamp)) return { kind: "rejected", reason: "bad timestamp" };
  if (Math.abs(options.now() / 1000 - Number(timestamp)) > options.maxAgeSeconds + LEEWAY_S) {
    return { kind: "rejected", reason: "timestamp out of range" };
  }
  if (!verifySendgridSignature(options.publicKey, signature, timestamp, request.rawBody)) {
    return { kind: "rejected", reason: "bad signature" };
  }
  let events: unknown;
  try {
    events = JSON.parse(request.rawBody);
  } catch {
    // Signed by SendGrid yet unreadable: acknowledge it, or it would be redelivered for a day.
    return { kind: "accepted", statuses: [], inbound: [] };
  }
  const list = Array.isArray(events) ? events : [];
  const statuses = list
    .filter((e): e is Json => e !== null && typeof e === "object" && !Array.isArray(e))
    .map(toStatus)
    .filter((s): s is StatusUpdate => s !== null);
  return { kind: "accepted", statuses, inbound: [] };
}
