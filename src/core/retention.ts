import type { Clock } from "./ports.js";
import type { ChannelMemoryStore } from "./store/channel-memory.js";
import type { ErasureCounts, PurgeCounts, RetentionStore } from "./store/retention.js";

/**
 * Retention and erasure (GDPR Art. 5(1)(e) storage limitation, Art. 17 right to erasure).
 * Closed verifications and their deliveries are kept for the retention window, idempotency keys
 * for 24 hours; a purge deletes what is older and reports only counts. An erasure deletes every
 * row about one phone number at once; its opt-outs stay unless asked for, since honouring a STOP
 * is a legal obligation (Art. 17(3)(b)).
 */

/** @default 30 days */
export const DEFAULT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** Idempotency keys are answered for 24 hours (see `beginIdempotent`) and purged after. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** Expired channel memory entries one purge deletes at most (the next purge takes the rest). */
const CHANNEL_MEMORY_PURGE_LIMIT = 10_000;
/** How often the worker purges, at most. */
export const PURGE_INTERVAL_MS = 60 * 60 * 1000;

interface RetentionLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface RetentionDeps {
  store: RetentionStore & Pick<ChannelMemoryStore, "forgetChannels" | "purgeChannelMemory">;
  clock: Clock;
  /** @default DEFAULT_RETENTION_MS */
  retentionMs?: number;
  logger?: RetentionLogger;
}

export function createRetentionService({ store, clock, retentionMs = DEFAULT_RETENTION_MS, logger }: RetentionDeps) {
  let lastPurgeAt: number | undefined;

  async function purge(): Promise<PurgeCounts> {
    const now = clock.now();
    lastPurgeAt = now;
    const counts = {
      ...(await store.purgeBefore(now - retentionMs, now)),
      channelMemory: await store.purgeChannelMemory(now, CHANNEL_MEMORY_PURGE_LIMIT),
    };
    logger?.info({ ...counts, retention_ms: retentionMs }, "retention purge");
    return counts;
  }

  return {
    purge,

    /** Purges when the last purge is at least an hour old; a failure is logged, never thrown. */
    async purgeIfDue(): Promise<PurgeCounts | null> {
      if (lastPurgeAt !== undefined && clock.now() - lastPurgeAt < PURGE_INTERVAL_MS) return null;
      try {
        return await purge();
      } catch (err) {
        logger?.error({ err }, "retention purge failed");
        return null;
      }
    },

    /** Erases a number's rows. The number itself is not logged. */
    async erase(phone: string, includeOptOuts: boolean): Promise<ErasureCounts> {
      const counts = {
        ...(await store.eraseNumber(phone, { includeOptOuts })),
        channelMemory: await store.forgetChannels(phone),
      };
      logger?.info({ ...counts, include_opt_outs: includeOptOuts }, "number erased");
      return counts;
    },
  };
}

export type RetentionService = ReturnType<typeof createRetentionService>;
