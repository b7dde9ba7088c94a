import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { InboundMessage, StatusUpdate } from "../core/model.js";
import type { WebhookRequest, WebhookResult } from "../core/sender.js";

/**
 * WhatsApp Cloud API webhooks: one callback URL for the GET subscription handshake and for POSTed
 * batches of message statuses and inbound user messages, signed with
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`.
 */

export interface MetaWebhookOptions {
  /** The app secret; without it no POST can be verified, so all are refused. */
  appSecret?: string;
  /** The token typed into the app dashboard next to the callback URL; without it the handshake is refused. */
  verifyToken?: string;
}

/** The parts of the `whatsapp_business_account` envelope this adapter reads; everything is untrusted input. */
interface Envelope {
  object?: unknown;
  entry?: Array<{ changes?: Array<{ field?: unknown; value?: ChangeValue }> }>;
}

interface ChangeValue {
  metadata?: { display_phone_number?: unknown; phone_number_id?: unknown };
  contacts?: Array<{ wa_id?: unknown }>;
  statuses?: Array<{ id?: unknown; status?: unknown; errors?: Array<{ code?: unknown; title?: unknown; message?: unknown }> }>;
  messages?: Array<{ id?: unknown; from?: unknown; type?: unknown; text?: { body?: unknown } }>;
}

const STATUSES: Record<string, StatusUpdate["status"]> = {
  sent: "sent",
  delivered: "delivered",
  read: "read",
  failed: "failed",
};

/**
 * Verifies and parses one webhook. `permanent` is left unset on the statuses: whether a failure code is
 * permanent is the send error table's business, applied by the caller.
 */
export function handleMetaWebhook(request: WebhookRequest, options: MetaWebhookOptions): WebhookResult {
  if (request.method === "GET") return handshake(request.url, options.verifyToken);

  if (!options.appSecret) return { kind: "rejected", reason: "no app secret configured" };
  const header = request.headers["x-hub-signature-256"];
  if (!header) return { kind: "rejected", reason: "missing X-Hub-Signature-256" };
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match?.[1]) return { kind: "rejected", reason: "malformed X-Hub-Signature-256" };
  // Over the bytes as received: Meta escapes non-ASCII, so re-serialised JSON would not match.
  const expected = createHmac("sha256", options.appSecret).update(Buffer.from(request.rawBody, "utf8")).digest();
  if (!timingSafeEqual(Buffer.from(match[1], "hex"), expected)) return { kind: "rejected", reason: "bad X-Hub-Signature-256" };

  let envelope: Envelope;
  try {
    envelope = JSON.parse(request.rawBody) as Envelope;
  } catch {
    // Signed by Meta yet unreadable: acknowledge anyway, since Meta redelivers non-2xx answers for days.
    return { kind: "accepted", statuses: [], inbound: [] };
  }
  const statuses: StatusUpdate[] = [];
  const inbound: InboundMessage[] = [];
  if (envelope?.object !== "whatsapp_business_account" || !Array.isArray(envelope.entry)) {
    return { kind: "accepted", statuses, inbound };
  }
  for (const entry of envelope.entry) {
    for (const change of Array.isArray(entry?.changes) ? entry.changes : []) {
      if (change?.field !== "messages" || !change.value) continue;
      statuses.push(...toStatuses(change.value));
      inbound.push(...toInbound(change.value));
    }
  }
  return { kind: "accepted", statuses, inbound };
}

/** `?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: echo the challenge only for our own token. */
function handshake(url: string, verifyToken: string | undefined): WebhookResult {
  if (!verifyToken) return { kind: "rejected", reason: "no verify token configured" };
  let query: URLSearchParams;
  try {
    query = new URL(url).searchParams;
  } catch {
    return { kind: "rejected", reason: "unparseable URL" };
  }
  const challenge = query.get("hub.challenge");
  if (query.get("hub.mode") !== "subscribe" || !challenge) return { kind: "rejected", reason: "not a subscribe handshake" };
  if (!sameSecret(query.get("hub.verify_token") ?? "", verifyToken)) return { kind: "rejected", reason: "verify token mismatch" };
  return { kind: "challenge", body: challenge };
}

function toStatuses(value: ChangeValue): StatusUpdate[] {
  const out: StatusUpdate[] = [];
  for (const s of Array.isArray(value.statuses) ? value.statuses : []) {
    // `deleted`, `warning` and statuses this adapter has no use for are skipped.
    const status = typeof s?.status === "string" ? STATUSES[s.status] : undefined;
    if (!status || typeof s.id !== "string") continue;
    const update: StatusUpdate = { providerMessageId: s.id, status };
    const error = Array.isArray(s.errors) ? s.errors[0] : undefined;
    if (status === "failed" && error && (typeof error.code === "number" || typeof error.code === "string")) {
      update.errorCode = String(error.code);
      const text = typeof error.title === "string" ? error.title : error.message;
      if (typeof text === "string") update.errorMessage = text.slice(0, 200);
    }
    out.push(update);
  }
  return out;
}

/** Text the user typed (STOP, a code sent back). Buttons, media and reactions are not of interest here. */
function toInbound(value: ChangeValue): InboundMessage[] {
  const out: InboundMessage[] = [];
  const business = businessNumber(value.metadata);
  for (const m of Array.isArray(value.messages) ? value.messages : []) {
    if (m?.type !== "text" || typeof m.id !== "string" || typeof m.text?.body !== "string") continue;
    const waId = typeof m.from === "string" ? m.from : value.contacts?.[0]?.wa_id;
    if (typeof waId !== "string" || !/^\d+$/.test(waId)) continue;
    out.push({ providerMessageId: m.id, channel: "whatsapp", from: `+${waId}`, to: business, text: m.text.body });
  }
  return out;
}

/** The business number as E.164 when Meta gives it, else the phone number id. */
function businessNumber(metadata: ChangeValue["metadata"]): string {
  const display = metadata?.display_phone_number;
  const digits = typeof display === "string" ? display.replace(/\D/g, "") : "";
  if (digits) return `+${digits}`;
  return typeof metadata?.phone_number_id === "string" ? metadata.phone_number_id : "";
}

/** Constant-time comparison that also hides the secret's length (both sides are hashed first). */
function sameSecret(received: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(received), digest(expected));
}
