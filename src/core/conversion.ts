import { randomUUID } from "node:crypto";
import { isAllowListed, maskNumber } from "./abuse.js";
import {
  bucketOf,
  type ConversionSettings,
  conversionKeys,
  cooldownFor,
  judgeKey,
  settledWindow,
  type Verdict,
} from "./conversion-rules.js";
import { VerifydError } from "./errors.js";
import type { AbuseBlock, AbuseMode, ConversionKey, ConversionReason } from "./model.js";
import type { Clock } from "./ports.js";
import { type RefusalLog, tellRefusal } from "./refusals.js";
import type { ConversionStore } from "./store/conversion.js";
import { PLAIN_UNIT, type StoreUnit } from "./store/unit.js";

export { type ConversionSettings, DEFAULT_CONVERSION_SETTINGS } from "./conversion-rules.js";

/**
 * The conversion guard: refuses sends to number prefixes, ranges and countries (email domains) whose sends do not
 * turn into approvals (the rules are in `conversion-rules.ts`). A send to a blocked key is refused
 * before anything is counted; otherwise, once every other rule let it pass, it is counted and its
 * keys judged in one store operation. A key that trips is blocked for a cool-down that grows with
 * each repeat; a key over its budget of unanswered sends refuses the send without a block (a hold).
 * A destination that had a code approved before is let through either: pumped numbers never approve.
 */

/** Active blocks are re-read this often; a block opened or lifted by this process is seen at once. */
const BLOCK_CACHE_MS = 5_000;
/** Counters and history are purged at most this often. */
const PURGE_EVERY_MS = 600_000;
/** Ended blocks are kept at least this long for the record. */
const BLOCK_RECORD_MS = 30 * 86_400_000;

/**
 * What `refuseBlocked` tells `countSend`: whether to count the send, and the blocks it was let through;
 * `withheld`, the reasons its channels that pay a number's owner were refused (only for a send that
 * may go on WhatsApp instead).
 */
export interface Admitted {
  count: boolean;
  passed: ReadonlySet<string>;
  withheld?: readonly ConversionReason[];
}
const COUNT: Admitted = { count: true, passed: new Set() };

/** A refusal that opens no block: the key is over its budget of unanswered sends until they settle. */
interface Hold {
  reason: ConversionReason;
  expiresAt: number;
  id: null;
}

interface ConversionLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * What the guard counts: blocks `opened`; sends `refused` by a block or a hold, sent on WhatsApp only
 * (`withheld` from the channels that pay), let through in `monitored` mode, or `passed` because their
 * destination had a code approved before.
 */
export interface ConversionMetrics {
  conversionGuard(action: "opened" | "refused" | "withheld" | "monitored" | "passed", reason: ConversionReason): void;
}

export interface ConversionGuardDeps {
  store: ConversionStore;
  clock: Clock;
  settings: ConversionSettings;
  mode: AbuseMode;
  allowNumbers: readonly string[];
  prefixDigits?: number;
  logger?: ConversionLogger;
  /** Where refusals go (summed up); without it each is a warning of `logger`. */
  refusals?: RefusalLog;
  metrics?: ConversionMetrics;
}

/** The destination of a send, or of an approved verification. */
export interface ConversionSubject {
  to: string;
  country: string | null;
  /** The verification's start: its cohort. */
  createdAt: number;
  /**
   * The send may go out on WhatsApp alone: its route has a WhatsApp step it can still reach. A refusal
   * then withholds the route's other steps instead of refusing the send: a WhatsApp message earns the
   * number's owner nothing, and Meta bills an authentication message only when it is delivered.
   */
  unpaidAlternative?: boolean;
}

const reasonsOf = (hits: (AbuseBlock | Hold)[]) => [...new Set(hits.map((b) => b.reason))];

export function createConversionGuard(deps: ConversionGuardDeps) {
  const { store, clock, settings, mode, logger, metrics } = deps;
  const enabled = settings.threshold > 0;
  let cached: { blocks: AbuseBlock[]; readAt: number } | null = null;
  let lastPurge = Number.NEGATIVE_INFINITY;

  const keysOf = (to: string, country: string | null) => conversionKeys(to, country, deps.prefixDigits);
  const watched = (to: string) => enabled && !isAllowListed(to, deps.allowNumbers);

  async function activeBlocks(s: ConversionStore, now: number): Promise<AbuseBlock[]> {
    if (!cached || now - cached.readAt >= BLOCK_CACHE_MS || now < cached.readAt) {
      cached = { blocks: await s.listActiveAbuseBlocks(now), readAt: now };
    }
    return cached.blocks.filter((b) => b.expiresAt > now);
  }

  /** Opens a block for a key that tripped, lasting longer for each earlier block within memory. */
  async function open(s: ConversionStore, k: ConversionKey, verdict: Verdict, now: number): Promise<AbuseBlock> {
    const earlier = await s.countAbuseBlocks(k, now - settings.memoryMs);
    const candidate: AbuseBlock = {
      ...k,
      id: `abk_${randomUUID().replaceAll("-", "")}`,
      reason: verdict.reason,
      sends: verdict.totals.sends,
      approvals: verdict.totals.approvals,
      mode,
      repeat: earlier + 1,
      createdAt: now,
      expiresAt: now + cooldownFor(earlier, settings.cooldownsMs),
      liftedAt: null,
    };
    const { block, created } = await s.openAbuseBlock(candidate, now);
    if (created) {
      metrics?.conversionGuard("opened", block.reason);
      logger?.warn(
        {
          block_id: block.id,
          scope: block.scope,
          key: block.key,
          reason: block.reason,
          sends: block.sends,
          approvals: block.approvals,
          repeat: block.repeat,
          expires_at: new Date(block.expiresAt).toISOString(),
          mode,
        },
        "conversion guard opened a block",
      );
    }
    return block;
  }

  /** Counts the send and judges each of its keys: the blocks it opened (or found opened) and the holds. */
  async function countAndJudge(
    s: ConversionStore,
    subject: ConversionSubject,
    keys: ConversionKey[],
    now: number,
  ): Promise<(AbuseBlock | Hold)[]> {
    const window = settledWindow(now, settings);
    const standings = await s.countSend(keys, bucketOf(subject.createdAt), window.from, window.to);
    const hits: (AbuseBlock | Hold)[] = [];
    for (const [i, k] of keys.entries()) {
      const standing = standings[i];
      const verdict = standing ? judgeKey(k.scope, standing, now, settings) : null;
      if (verdict?.action === "block") hits.push(await open(s, k, verdict, now));
      // Held until the oldest unanswered send settles and the key is judged on it.
      else if (verdict) hits.push({ reason: verdict.reason, expiresAt: now + settings.settleMs, id: null });
    }
    if (hits.some((h) => h.id !== null)) cached = null;
    return hits;
  }

  async function purge(s: ConversionStore, now: number) {
    if (now - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = now;
    const countsBefore = settledWindow(now, settings).from;
    await s.purgeConversion(countsBefore, now - Math.max(BLOCK_RECORD_MS, settings.memoryMs), now - settings.memoryMs);
  }

  /**
   * What to do with a send that hit a block or a hold: `refuse` it, or, when it can go on WhatsApp
   * alone, `withhold` its paying channels; `pass` it, its destination having
   * had a code approved within memory (a known user; pumped numbers never approve); or, in monitor mode,
   * `spare` it: it goes out, but the guard treats it as refused, so what monitor mode reports is what
   * enforce mode would do. Logs and counts every outcome.
   */
  async function decide(
    s: ConversionStore,
    to: string,
    country: string | null,
    hits: (AbuseBlock | Hold)[],
    now: number,
    unpaidAlternative = false,
  ): Promise<"refuse" | "withhold" | "pass" | "spare"> {
    const reasons = reasonsOf(hits);
    const blockIds = hits.flatMap((b) => (b.id === null ? [] : [b.id]));
    const fields = { to: maskNumber(to), country, reasons, block_ids: blockIds, held: blockIds.length < hits.length, mode };
    if (await s.destinationApprovedSince(to, now - settings.memoryMs)) {
      for (const reason of reasons) metrics?.conversionGuard("passed", reason);
      logger?.info(fields, "conversion guard let a destination approved before through");
      return "pass";
    }
    const outcome = mode === "monitor" ? "spare" : unpaidAlternative ? "withhold" : "refuse";
    const action = outcome === "spare" ? "monitored" : outcome === "withhold" ? "withheld" : "refused";
    for (const reason of reasons) metrics?.conversionGuard(action, reason);
    const lines = {
      spare: unpaidAlternative
        ? "conversion guard would refuse all but WhatsApp (monitor mode)"
        : "conversion guard would refuse (monitor mode)",
      withhold: "conversion guard refused all but WhatsApp",
      refuse: "conversion guard refused",
    };
    const message = lines[outcome];
    // A refused send is one of a wave's many; a withheld or spared one goes out, told as it comes.
    if (outcome === "refuse") tellRefusal(deps, message, { ...fields, blocked: true });
    else logger?.warn({ ...fields, blocked: true }, message);
    return outcome;
  }

  /** 403 `blocked`, naming the reasons, with `Retry-After` until the last hit ends. */
  function refusal(hits: (AbuseBlock | Hold)[], now: number): VerifydError {
    const reasons = reasonsOf(hits);
    const until = Math.max(...hits.map((b) => b.expiresAt));
    return new VerifydError("blocked", `the destination is refused: ${reasons.join(", ")}`, {
      extensions: { reasons },
      retryAfterMs: until - now,
    });
  }

  return {
    settings,

    /**
     * Before a send (start or resend) passes any other rule: refuses it with 403 `blocked` while a
     * key of its destination is blocked, without counting it. Answers what `countSend` needs: whether
     * to count the send, and the blocks it was already let through. `unit`: the store unit its
     * operations are part of (every method here takes one).
     */
    async refuseBlocked(subject: ConversionSubject, unit: StoreUnit = PLAIN_UNIT): Promise<Admitted> {
      if (!watched(subject.to)) return COUNT;
      const s = unit.join(store);
      const now = clock.now();
      await purge(s, now);
      const keys = keysOf(subject.to, subject.country);
      const hits = (await activeBlocks(s, now)).filter((b) => keys.some((k) => k.scope === b.scope && k.key === b.key));
      if (hits.length === 0) return COUNT;
      const decision = await decide(s, subject.to, subject.country, hits, now, subject.unpaidAlternative);
      if (decision === "refuse") throw refusal(hits, now);
      const passed = new Set(hits.map((b) => b.id));
      // Withheld from the paying channels, the send goes on WhatsApp alone. Like a refused send it is
      // not counted: counted, the bots' WhatsApp-only sends would drag whole countries under the threshold.
      if (decision === "withhold") return { count: false, passed, withheld: reasonsOf(hits) };
      return { count: decision === "pass", passed };
    },

    /**
     * Once a send passed every other rule: counts it and judges its keys, refusing it with 403
     * `blocked` when one trips (a refused or spared send is taken back from the counts: it was not
     * sent, or would not have been). Blocks `refuseBlocked` let it through are not decided on again.
     */
    async countSend(
      subject: ConversionSubject,
      admitted: Admitted = COUNT,
      unit: StoreUnit = PLAIN_UNIT,
    ): Promise<readonly ConversionReason[] | null> {
      const withheld = admitted.withheld ?? null;
      if (!watched(subject.to) || !admitted.count) return withheld;
      const s = unit.join(store);
      const now = clock.now();
      const keys = keysOf(subject.to, subject.country);
      const hits = (await countAndJudge(s, subject, keys, now)).filter((h) => h.id === null || !admitted.passed.has(h.id));
      if (hits.length === 0) return withheld;
      const decision = await decide(s, subject.to, subject.country, hits, now, subject.unpaidAlternative);
      if (decision === "pass") return withheld;
      await s.uncountSend(keys, bucketOf(subject.createdAt));
      if (decision === "refuse") throw refusal(hits, now);
      return decision === "withhold" ? reasonsOf(hits) : null;
    },

    /**
     * Counts an approval in the cohort its sends were counted in, and remembers it for each key and the
     * destination. The approval of a verification sent on WhatsApp alone (`withheld`) is remembered for
     * the destination only: its sends were not counted, and a few real users answering on WhatsApp
     * must not vouch for a range the bots keep pumping.
     */
    async countApproval(subject: ConversionSubject, withheld = false, unit: StoreUnit = PLAIN_UNIT): Promise<void> {
      if (!watched(subject.to)) return;
      const keys = withheld ? [] : keysOf(subject.to, subject.country);
      await unit.join(store).countApproval(keys, bucketOf(subject.createdAt), clock.now(), subject.to);
    },

    async listBlocks(): Promise<AbuseBlock[]> {
      return store.listActiveAbuseBlocks(clock.now());
    },

    /** Lifts a block, resets its counters and vouches for its key, so it does not trip again at the next send. */
    async lift(blockId: string): Promise<AbuseBlock> {
      const lifted = await store.liftAbuseBlock(blockId, clock.now());
      if (!lifted) throw new VerifydError("abuse_block_not_found", `no active block ${blockId}`);
      cached = null;
      return lifted;
    },
  };
}

export type ConversionGuard = ReturnType<typeof createConversionGuard>;
