import { type CodeKit, generateCode } from "./codes.js";
import { VerifydError } from "./errors.js";
import { type EventSink, verificationData } from "./events.js";
import type { InboundMessage, Service, Verification } from "./model.js";
import type { ChangeNotifier } from "./notifier.js";
import { normalizePhone } from "./phone.js";
import type { Clock, Ids, Limiter } from "./ports.js";
import type { InboundRefusal } from "./store/inbound.js";
import type { Store } from "./store/index.js";

/**
 * Person-to-application verification: verifyd shows the user a short code, the user sends it from
 * their phone to a business number, and the provider's signed inbound webhook approves the
 * verification. The code is stored only as a keyed hash of the code alone, so the message finds its
 * verification with one index lookup.
 */

/** No look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B): the user copies it by hand. */
export const INBOUND_ALPHABET = "ACDEFGHJKMNPQRTUVWXY345679";
export const INBOUND_CODE_LENGTH = 6;
export const INBOUND_KEYWORD = "VERIFY";

export type InboundChannel = "whatsapp" | "sms";

const isCode = (s: string) => s.length === INBOUND_CODE_LENGTH && [...s].every((ch) => INBOUND_ALPHABET.includes(ch));
const isCandidate = (s: string) => /^[A-Z0-9]+$/.test(s) && s.length === INBOUND_CODE_LENGTH;

/**
 * Finds the code in a user's message, tolerating case, spaces and extra words: "hi VERIFY 4kq7zp
 * thanks", "verify 4KQ 7ZP", or the bare code. After the keyword (or alone) any six letters and
 * digits are taken, so a mistyped code is looked up and counted; among other words only a word made
 * of the code alphabet is. Null when no code is there.
 */
export function findInboundCode(text: string): string | null {
  const upper = text.normalize("NFKC").toUpperCase();
  const keyword = /\bVERIFY\b[\s:#-]*((?:[A-Z0-9][\s-]?){5}[A-Z0-9])(?![A-Z0-9])/.exec(upper);
  if (keyword) return (keyword[1] as string).replace(/[\s-]/g, "");
  const compact = upper.replace(/[\s-]/g, "");
  if (isCandidate(compact)) return compact;
  const tokens = upper.split(/[^A-Z0-9]+/).filter(isCode);
  return tokens.length === 1 ? (tokens[0] as string) : null;
}

export type InboundOutcome = "approved" | InboundRefusal | "no_code" | "rate_limited";

export interface InboundStartInput {
  /** The number expected to send the code; any sender may answer without it. */
  to?: string;
  /** The country a national `to` is read in; else the service's default country. */
  country?: string | null;
  channels?: readonly InboundChannel[];
  clientIp?: string | null;
}

interface InboundLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface InboundDeps {
  store: Store;
  clock: Clock;
  ids: Ids;
  codes: CodeKit;
  limiter: Limiter;
  /** The channels that have a business number configured. */
  available: readonly InboundChannel[];
  notifier?: ChangeNotifier;
  logger?: InboundLogger;
  /** Event webhooks to the integrator. */
  events?: EventSink;
}

export function createInboundService(deps: InboundDeps) {
  const { store, clock, ids, codes, limiter } = deps;
  /** Outcomes of received messages since start, for operators and tests. */
  const counts: Record<InboundOutcome, number> = {
    approved: 0,
    unknown: 0,
    expired: 0,
    used: 0,
    sender_mismatch: 0,
    no_code: 0,
    rate_limited: 0,
  };

  const settle = (outcome: InboundOutcome, fields: object): InboundOutcome => {
    counts[outcome]++;
    if (outcome === "approved") deps.logger?.info({ ...fields, outcome }, "inbound verification approved");
    else deps.logger?.warn({ ...fields, outcome }, "inbound message approved nothing");
    return outcome;
  };

  return {
    counts: counts as Readonly<Record<InboundOutcome, number>>,

    /** Creates a pending inbound verification; nothing is sent. Returns it with the code to show the user. */
    async start(service: Service, input: InboundStartInput): Promise<{ verification: Verification; code: string }> {
      const wanted = input.channels ?? deps.available;
      const channels = wanted.filter((c, i) => deps.available.includes(c) && wanted.indexOf(c) === i);
      if (channels.length === 0) {
        throw new VerifydError("channel_unavailable", "no business number is configured for inbound verification");
      }
      const phone = input.to
        ? normalizePhone(input.to, { country: input.country, defaultCountry: service.settings.defaultCountry })
        : null;
      if (input.clientIp) {
        const state = await limiter.consume("starts_per_ip", input.clientIp);
        if (!state.allowed) {
          throw new VerifydError("rate_limited", "too many verifications from this client IP", {
            retryAfterMs: state.resetMs,
            limit: state,
          });
        }
      }
      const { policy } = service;
      for (let attempt = 0; attempt < 5; attempt++) {
        const now = clock.now();
        const code = generateCode(INBOUND_CODE_LENGTH, INBOUND_ALPHABET);
        const v: Verification = {
          id: ids.verification(),
          serviceId: service.id,
          to: phone?.e164 ?? "",
          country: phone?.country ?? null,
          status: "pending",
          route: [],
          currentStep: 0,
          sends: 0,
          checks: 0,
          maxChecks: policy.maxChecks,
          maxSends: 0,
          clientIp: input.clientIp ?? null,
          createdAt: now,
          updatedAt: now,
          expiresAt: now + policy.ttlMs,
          lastSentAt: now,
          approvedAt: null,
          inboundChannels: channels,
          verifiedNumber: null,
        };
        // False only when a live verification holds the same code: draw another.
        if (await store.createInboundVerification(v, codes.inboundHash(code))) return { verification: v, code };
      }
      throw new VerifydError("service_unavailable", "could not allocate an inbound code; retry");
    },

    /** Handles a verified inbound message: approves the verification its code names, or changes nothing. */
    async receive(provider: string, message: InboundMessage): Promise<InboundOutcome> {
      const fields = { provider, channel: message.channel, provider_message_id: message.providerMessageId };
      const code = findInboundCode(message.text);
      if (!code) return settle("no_code", fields);
      const from = message.from;
      // Checked before the lookup: a sender over either limit learns nothing about codes.
      const unknown = await limiter.peek("inbound_unknown_per_sender", from);
      const approvals = await limiter.peek("inbound_approvals_per_sender", from);
      if (!unknown.allowed || !approvals.allowed) return settle("rate_limited", fields);

      const result = await store.approveInbound(codes.inboundHash(code), from, clock.now());
      if (result.kind === "approved") {
        await limiter.consume("inbound_approvals_per_sender", from);
        deps.notifier?.notify(result.verification.id);
        await deps.events?.emit("verification.approved", verificationData({ ...result.verification, status: "approved" }));
        return settle("approved", { ...fields, verification_id: result.verification.id });
      }
      // Guesses (unknown codes, someone else's code) count against the sender.
      if (result.reason === "unknown" || result.reason === "sender_mismatch") {
        await limiter.consume("inbound_unknown_per_sender", from);
      }
      return settle(result.reason, { ...fields, verification_id: result.verification?.id ?? null });
    },
  };
}

export type InboundService = ReturnType<typeof createInboundService>;
