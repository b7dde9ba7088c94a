import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { InboundMessage, StatusUpdate } from "../core/model.js";
import type { Clock } from "../core/ports.js";
import type { Sender, SendResult } from "../core/sender.js";
import { encodeBody, encodeGsm7, isGsm7, relativeValidity } from "./smpp-encoding.js";
import { type DeliverSm, SmppSession } from "./smpp-session.js";
import { statusError, statusKind } from "./smpp-status.js";

/**
 * SMPP 3.4: OTPs go out as submit_sm on one long-lived bind_transceiver session to the
 * SMSC; delivery receipts and user messages come back as deliver_sm on the same session, so they are
 * handed to `deps.onStatus` / `deps.onInbound` instead of arriving on a webhook.
 *
 * A body longer than one segment is refused with code "too_long" rather than sent as a message_payload
 * TLV: bodies are rendered to fit one segment, so a longer one is a template bug to surface; message_payload
 * is optional in 3.4 and SMSCs that lack it may truncate, split or bill it unpredictably; and `rejected`
 * moves the route on to a channel that can carry it.
 */

const ALPHANUMERIC_SENDER_MAX = 11;

export const smppConfigSchema = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(2775),
    /** TLS to the SMSC (often port 3550), verified against the system CAs. */
    tls: z.boolean().default(false),
    /** Limits are the spec's C-Octet sizes less the NUL. */
    systemId: z.string().min(1).max(15),
    password: z.string().max(8),
    systemType: z.string().max(12).default(""),
    /** An alphanumeric sender id (≤ 11 characters) or a number (international, "+" optional). */
    sourceAddr: z.string().min(1).max(20),
    /** Default by sourceAddr: alphanumeric → 5 (alphanumeric), numeric → 1 (international). */
    sourceAddrTon: z.number().int().min(0).max(6).optional(),
    /** Default by sourceAddr: alphanumeric → 0 (unknown), numeric → 1 (E.164). */
    sourceAddrNpi: z.number().int().min(0).max(18).optional(),
    /** 1: a receipt on the final outcome; 2: only on failure; 0: none. */
    registeredDelivery: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
    enquireLinkMs: z.number().int().positive().default(30_000),
    reconnectInitialMs: z.number().int().positive().default(1000),
    reconnectMaxMs: z.number().int().positive().default(30_000),
    /** Bounds the wait for the bind and for each submit_sm_resp (and each enquire_link_resp). */
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .refine((c) => isNumeric(c.sourceAddr) || c.sourceAddr.length <= ALPHANUMERIC_SENDER_MAX, {
    path: ["sourceAddr"],
    message: `an alphanumeric sender id has at most ${ALPHANUMERIC_SENDER_MAX} characters`,
  });

export type SmppConfig = z.output<typeof smppConfigSchema>;

export interface SmppDeps {
  clock: Clock;
  /** Unused: receipts arrive on the SMPP session, not on a webhook. */
  publicUrl?: string;
  name?: string;
  /** Each delivery receipt. A rejected promise answers the deliver_sm with a temporary error, so the SMSC resends it. */
  onStatus?: (update: StatusUpdate) => void | Promise<void>;
  /** Each mobile-originated message (STOP keywords…); same answer rule as onStatus. */
  onInbound?: (message: InboundMessage) => void | Promise<void>;
}

export type SmppSender = Sender & { close(): Promise<void> };

function isNumeric(addr: string): boolean {
  return /^\+?\d+$/.test(addr);
}

export function createSmppSender(config: SmppConfig, deps: SmppDeps): SmppSender {
  const provider = deps.name ?? "smpp";
  const numericSender = isNumeric(config.sourceAddr);
  const source = {
    sourceAddr: numericSender ? config.sourceAddr.replace(/^\+/, "") : config.sourceAddr,
    sourceAddrTon: config.sourceAddrTon ?? (numericSender ? 1 : 5),
    sourceAddrNpi: config.sourceAddrNpi ?? (numericSender ? 1 : 0),
  };
  const recentIds = new RecentMessageIds(10_000);

  const session = new SmppSession({
    ...config,
    now: () => deps.clock.now(),
    async onDeliverSm(sm) {
      const type = sm.esmClass & ESM_MESSAGE_TYPE;
      if (type === ESM_DELIVERY_RECEIPT || type === ESM_INTERMEDIATE_NOTIFICATION) {
        const update = toStatusUpdate(sm, (id) => recentIds.resolve(id));
        if (update) await deps.onStatus?.(update);
      } else if (type === 0) {
        await deps.onInbound?.(toInbound(sm));
      }
      return 0;
    },
  });

  return {
    provider,
    channels: ["sms"],
    async send(message, signal): Promise<SendResult> {
      const remainingMs = message.expiresAt - deps.clock.now();
      if (remainingMs < 1000) return { kind: "rejected", error: { code: "expired", message: "the code expired before sending" } };
      const body = encodeBody(message.body);
      if (body.units > body.maxUnits) {
        const unit = body.dataCoding === 0 ? "GSM-7 septets" : "UCS-2 characters";
        return {
          kind: "rejected",
          error: { code: "too_long", message: `${body.units} ${unit}; one segment holds ${body.maxUnits}` },
        };
      }
      const outcome = await session.submit(
        {
          ...source,
          destinationAddr: message.to.replace(/^\+/, ""),
          destAddrTon: 1,
          destAddrNpi: 1,
          registeredDelivery: config.registeredDelivery,
          // Relative, so a clock difference with the SMSC cannot stretch or cut the code's lifetime.
          validityPeriod: relativeValidity(remainingMs),
          dataCoding: body.dataCoding,
          shortMessage: body.bytes,
        },
        signal,
      );
      if (outcome.kind !== "response") return outcome;
      if (outcome.status === 0) {
        recentIds.remember(outcome.messageId);
        return { kind: "accepted", providerMessageId: outcome.messageId || null };
      }
      return { kind: statusKind(outcome.status), error: statusError(outcome.status) };
    },
    close: () => session.close(),
  };
}

/** esm_class bits 5–2 (message type) of a deliver_sm. */
const ESM_MESSAGE_TYPE = 0x3c;
const ESM_DELIVERY_RECEIPT = 0x04;
const ESM_INTERMEDIATE_NOTIFICATION = 0x20;

/** message_state TLV values (§5.2.28) as receipt `stat:` words. */
const MESSAGE_STATES = ["", "ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"];

/** Spelled-out states some SMSCs use instead of the 7-letter words. */
const STAT_ALIASES: Record<string, string> = {
  DELIVERED: "DELIVRD",
  UNDELIVERABLE: "UNDELIV",
  REJECTED: "REJECTD",
  ACCEPTED: "ACCEPTD",
};

/**
 * Receipt states. UNDELIV and REJECTD end SMS for this number (fall back); EXPIRED (the handset stayed
 * unreachable for the code's lifetime), DELETED (by the SMSC's operator) and UNKNOWN say nothing about the
 * number. ENROUTE/ACCEPTD are intermediate: the message left for the network.
 */
const RECEIPT_STATES: Record<string, Pick<StatusUpdate, "status" | "permanent">> = {
  DELIVRD: { status: "delivered" },
  UNDELIV: { status: "undelivered", permanent: true },
  REJECTD: { status: "failed", permanent: true },
  EXPIRED: { status: "undelivered", permanent: false },
  DELETED: { status: "failed", permanent: false },
  UNKNOWN: { status: "failed", permanent: false },
  ENROUTE: { status: "sent" },
  ACCEPTD: { status: "sent" },
};

export interface ReceiptText {
  id: string | null;
  stat: string | null;
  err: string | null;
}

/** Appendix B receipt text, read tolerantly: fields in any order and case, missing fields null. */
export function parseReceiptText(text: string): ReceiptText {
  const field = (name: string) => new RegExp(`(?:^|\\s)${name}:(\\S*)`, "i").exec(text)?.[1] || null;
  const stat = field("stat")?.toUpperCase() ?? null;
  return { id: field("id"), stat: stat ? (STAT_ALIASES[stat] ?? stat) : null, err: field("err") };
}

/** The receipted_message_id / message_state / network_error_code TLVs win over the text when present. */
function toStatusUpdate(sm: DeliverSm, resolveId: (id: string) => string): StatusUpdate | null {
  const text = parseReceiptText(receiptAscii(sm));
  const id = sm.receiptedMessageId || text.id;
  const stat = (sm.messageState !== undefined ? MESSAGE_STATES[sm.messageState] : undefined) || text.stat;
  const state = stat ? RECEIPT_STATES[stat] : undefined;
  if (!id || !stat || !state) return null;
  const update: StatusUpdate = { providerMessageId: resolveId(id), ...state };
  if (state.status !== "delivered" && state.status !== "sent") {
    const network = sm.networkErrorCode;
    const errorCode = network && network.length >= 3 ? `${network[0]}:${network.readUInt16BE(1)}` : text.err;
    if (errorCode) update.errorCode = errorCode;
    update.errorMessage = stat;
  }
  return update;
}

/**
 * Receipt texts are ASCII in practice, but the smpp package decodes data_coding 0 and 1 as GSM 03.38, which
 * turns e.g. "_" into "§" and "$" into "¤" inside message ids: re-encoding gives back the bytes as sent.
 */
function receiptAscii(sm: DeliverSm): string {
  if (sm.dataCoding !== 0 && sm.dataCoding !== 1) return sm.text;
  return isGsm7(sm.text) ? encodeGsm7(sm.text).toString("latin1") : sm.text;
}

function toInbound(sm: DeliverSm): InboundMessage {
  return {
    // deliver_sm carries no message id of its own.
    providerMessageId: randomUUID(),
    channel: "sms",
    from: sm.sourceAddrTon === 1 && /^\d+$/.test(sm.sourceAddr) ? `+${sm.sourceAddr}` : sm.sourceAddr,
    to: sm.destinationAddr,
    text: sm.text,
  };
}

/**
 * Recently accepted message ids, so a receipt quoting one in another case or base (hex vs decimal, which some
 * SMSCs do) is reported under the id submit_sm_resp gave, the one the outbox stored. Bounded, oldest first out.
 */
class RecentMessageIds {
  private readonly exact = new Map<string, string>();
  private readonly converted = new Map<string, string>();

  constructor(private readonly capacity: number) {}

  remember(id: string): void {
    if (!id) return;
    this.exact.set(canonical(id), id);
    for (const alias of otherBases(id)) this.converted.set(alias, id);
    for (const map of [this.exact, this.converted]) {
      while (map.size > this.capacity) map.delete(map.keys().next().value as string);
    }
  }

  resolve(id: string): string {
    const key = canonical(id);
    const known = this.exact.get(key);
    if (known) return known;
    for (const alias of [key, ...otherBases(id)]) {
      const converted = this.converted.get(alias) ?? this.exact.get(alias);
      if (converted) return converted;
    }
    return id;
  }
}

function canonical(id: string): string {
  return id.toLowerCase().replace(/^0+(?=.)/, "");
}

/** The id read as hex written in decimal, and read as decimal written in hex. */
function otherBases(id: string): string[] {
  const out: string[] = [];
  if (/^[0-9a-f]{1,32}$/i.test(id)) out.push(BigInt(`0x${id}`).toString(10));
  if (/^\d{1,38}$/.test(id)) out.push(BigInt(id).toString(16));
  return out;
}
