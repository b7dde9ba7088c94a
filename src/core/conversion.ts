import { randomUUID } from "node:crypto";
import { isAllowListed, maskNumber, numberPrefix } from "./abuse.js";
import { emailDomain, isEmailAddress } from "./email.js";
import { VerifydError } from "./errors.js";
import type { AbuseBlock, AbuseMode, ConversionKey, ConversionReason, ConversionScope } from "./model.js";
import type { Clock } from "./ports.js";
import type { ConversionStore, ConversionTotals } from "./store/conversion.js";

/**
 * The conversion guard. Pumped numbers never enter their codes, so a prefix or country whose sends
 * stop turning into approvals is being pumped: once its conversion over a recent window falls under
 * a threshold with enough volume, it is blocked for a cool-down, after which the block lifts by itself.
 *
 * A send and its approval are counted in the bucket of the verification's start (its cohort), and
 * only cohorts older than `settleMs` are judged: codes sent a minute ago cannot have been approved
 * yet, and judging them would block a burst of honest sign-ups.
 */

export interface ConversionSettings {
  /** How far back cohorts are summed. @default 1 h */
  windowMs: number;
  /** Sends the window must hold before its conversion is judged. @default 20 */
  minSends: number;
  /** Approvals per send under which the guard trips; 0 turns the guard off. @default 0.1 */
  threshold: number;
  /** How long a block lasts. @default 1 h */
  cooldownMs: number;
  /** The most recent cohorts, still able to approve, are left out of the judgement. @default 10 min */
  settleMs: number;
}

export const DEFAULT_CONVERSION_SETTINGS: ConversionSettings = {
  windowMs: 3_600_000,
  minSends: 20,
  threshold: 0.1,
  cooldownMs: 3_600_000,
  settleMs: 600_000,
};

/** Active blocks are re-read this often; a block opened or lifted by this process is seen at once. */
const BLOCK_CACHE_MS = 5_000;
/** Counters are purged at most this often. */
const PURGE_EVERY_MS = 600_000;
/** Ended blocks are kept this long for the record. */
const BLOCK_RECORD_MS = 30 * 86_400_000;

/** Buckets of one minute, or 1/60 of a longer window, so a window sums at most about 60 rows per key. */
export const bucketSize = (windowMs: number) => Math.max(60_000, Math.ceil(windowMs / 60 / 60_000) * 60_000);

const reasonOf = (scope: ConversionScope): ConversionReason => `low_conversion_${scope}`;

interface ConversionLogger {
  warn(fields: object, message: string): void;
}

/** What the guard counts: `opened` blocks, sends `refused` by one, and sends let through in `monitored` mode. */
export interface ConversionMetrics {
  conversionGuard(action: "opened" | "refused" | "monitored", reason: ConversionReason): void;
}

export interface ConversionGuardDeps {
  store: ConversionStore;
  clock: Clock;
  settings: ConversionSettings;
  mode: AbuseMode;
  allowNumbers: readonly string[];
  prefixDigits?: number;
  logger?: ConversionLogger;
  metrics?: ConversionMetrics;
}

/** The destination of a send, or of an approved verification. */
export interface ConversionSubject {
  to: string;
  country: string | null;
  /** The verification's start: its cohort. */
  createdAt: number;
}

export function createConversionGuard(deps: ConversionGuardDeps) {
  const { store, clock, settings, mode, logger, metrics } = deps;
  const bucketMs = bucketSize(settings.windowMs);
  const enabled = settings.threshold > 0;
  let cached: { blocks: AbuseBlock[]; readAt: number } | null = null;
  let lastPurge = Number.NEGATIVE_INFINITY;
  // The judged window only moves at a bucket boundary, so a key is summed at most once per bucket.
  let judged = { bucket: Number.NaN, keys: new Set<string>() };

  const bucketOf = (t: number) => Math.floor(t / bucketMs) * bucketMs;
  const id = (k: ConversionKey) => `${k.scope}:${k.key}`;

  /**
   * The keys a destination counts against: a number's prefix and country (a prefix that would be
   * the whole number is left out), an email address's domain.
   */
  const keysOf = (to: string, country: string | null): ConversionKey[] => {
    if (isEmailAddress(to)) return [{ scope: "domain", key: emailDomain(to) }];
    const keys: ConversionKey[] = [];
    const prefix = numberPrefix(to, deps.prefixDigits);
    if (prefix !== to) keys.push({ scope: "prefix", key: prefix });
    if (country) keys.push({ scope: "country", key: country });
    return keys;
  };

  async function activeBlocks(now: number): Promise<AbuseBlock[]> {
    if (!cached || now - cached.readAt >= BLOCK_CACHE_MS || now < cached.readAt) {
      cached = { blocks: await store.listActiveAbuseBlocks(now), readAt: now };
    }
    return cached.blocks.filter((b) => b.expiresAt > now);
  }

  /** Opens a block for each key whose settled window converts under the threshold. */
  async function judge(keys: ConversionKey[], now: number): Promise<AbuseBlock[]> {
    const bucket = bucketOf(now);
    if (bucket !== judged.bucket) judged = { bucket, keys: new Set() };
    const fresh = keys.filter((k) => !judged.keys.has(id(k)));
    if (fresh.length === 0) return [];
    for (const k of fresh) judged.keys.add(id(k));
    const to = bucketOf(now - settings.settleMs); // the bucket holding `now - settle` is not settled yet
    const totals = await store.conversionTotals(fresh, to - settings.windowMs, to);
    const opened: AbuseBlock[] = [];
    for (const [i, k] of fresh.entries()) {
      const t = totals[i] as ConversionTotals;
      if (t.sends < settings.minSends || t.approvals / t.sends >= settings.threshold) continue;
      const candidate: AbuseBlock = {
        ...k,
        id: `abk_${randomUUID().replaceAll("-", "")}`,
        reason: reasonOf(k.scope),
        sends: t.sends,
        approvals: t.approvals,
        mode,
        createdAt: now,
        expiresAt: now + settings.cooldownMs,
        liftedAt: null,
      };
      const { block, created } = await store.openAbuseBlock(candidate, now);
      if (created) {
        metrics?.conversionGuard("opened", block.reason);
        logger?.warn(
          { block_id: block.id, scope: block.scope, key: block.key, sends: block.sends, approvals: block.approvals, mode },
          "conversion guard opened a block",
        );
      }
      opened.push(block);
    }
    if (opened.length > 0) cached = null;
    return opened;
  }

  async function purge(now: number) {
    if (now - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = now;
    await store.purgeConversion(bucketOf(now - settings.settleMs - settings.windowMs) - bucketMs, now - BLOCK_RECORD_MS);
  }

  return {
    settings,

    /**
     * Before a send (start or resend): refuses it with 403 `blocked` while its prefix or country is
     * blocked, judging the settled window first. Monitor mode logs and counts instead of refusing.
     */
    async admit(to: string, country: string | null): Promise<void> {
      if (!enabled || isAllowListed(to, deps.allowNumbers)) return;
      const now = clock.now();
      await purge(now);
      const keys = keysOf(to, country);
      const blocks = await activeBlocks(now);
      let hits = blocks.filter((b) => keys.some((k) => k.scope === b.scope && k.key === b.key));
      if (hits.length === 0) hits = await judge(keys, now);
      if (hits.length === 0) return;
      const reasons = [...new Set(hits.map((b) => b.reason))];
      for (const reason of reasons) metrics?.conversionGuard(mode === "monitor" ? "monitored" : "refused", reason);
      logger?.warn(
        { to: maskNumber(to), country, reasons, block_ids: hits.map((b) => b.id), blocked: true, mode },
        mode === "monitor" ? "conversion guard would refuse (monitor mode)" : "conversion guard refused",
      );
      if (mode === "monitor") return;
      const until = Math.max(...hits.map((b) => b.expiresAt));
      throw new VerifydError("blocked", `the destination is refused: ${reasons.join(", ")}`, {
        extensions: { reasons },
        retryAfterMs: until - now,
      });
    },

    /** Counts a send (start or resend) in its verification's cohort. */
    async countSend(subject: ConversionSubject): Promise<void> {
      if (!enabled || isAllowListed(subject.to, deps.allowNumbers)) return;
      await store.countConversion(keysOf(subject.to, subject.country), bucketOf(subject.createdAt), "sends");
    },

    /** Counts an approval in the cohort its sends were counted in. */
    async countApproval(subject: ConversionSubject): Promise<void> {
      if (!enabled || isAllowListed(subject.to, deps.allowNumbers)) return;
      await store.countConversion(keysOf(subject.to, subject.country), bucketOf(subject.createdAt), "approvals");
    },

    async listBlocks(): Promise<AbuseBlock[]> {
      return store.listActiveAbuseBlocks(clock.now());
    },

    /** Lifts a block and resets its counters, so it does not trip again at the next send. */
    async lift(blockId: string): Promise<AbuseBlock> {
      const lifted = await store.liftAbuseBlock(blockId, clock.now());
      if (!lifted) throw new VerifydError("abuse_block_not_found", `no active block ${blockId}`);
      cached = null;
      judged = { bucket: Number.NaN, keys: new Set() };
      return lifted;
    },
  };
}

export type ConversionGuard = ReturnType<typeof createConversionGuard>;
