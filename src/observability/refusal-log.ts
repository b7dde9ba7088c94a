import type { Logger } from "pino";
import type { Clock } from "../core/ports.js";
import type { RefusalFields, RefusalLog } from "../core/refusals.js";

/** How often, at most, a warning of one kind (its message) sums up the refusals since the last one. */
export const REFUSAL_LOG_EVERY_MS = 10_000;

/** The countries a summary names, the most refused first: a wave hits a few. */
const TOP_COUNTRIES = 20;

/** Runs `flush` once, `ms` from now, without keeping the process alive for it. */
export type Schedule = (flush: () => void, ms: number) => void;

const unrefTimer: Schedule = (flush, ms) => {
  setTimeout(flush, ms).unref();
};

interface Pending {
  count: number;
  first: RefusalFields;
  since: number;
  byReason: Map<string, number>;
  byCountry: Map<string, number>;
}

interface Kind {
  lastLogAt: number;
  pending: Pending | null;
}

const add = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

const top = (counts: Map<string, number>, n: number) => Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, n));

/**
 * Refusals as warnings, one kind (message) at a time: the first after a quiet spell is logged at
 * once, as it was told (with `refused: 1`); those that follow within `everyMs` of the last line are
 * summed up in one line when that time is up: `refused` (how many), `reasons` (every reason seen),
 * `by_reason`, `by_country` (the 20 most refused), `since`, and the first one's other fields (its
 * masked destination, mode…) as a sample. So a wave writes one line per kind every 10 s, not one
 * per refusal. `flush` writes what is pending at once (at shutdown).
 */
export function refusalLog(
  logger: Pick<Logger, "warn">,
  clock: Clock,
  { everyMs = REFUSAL_LOG_EVERY_MS, schedule = unrefTimer }: { everyMs?: number; schedule?: Schedule } = {},
): RefusalLog & { flush(): void } {
  const kinds = new Map<string, Kind>();

  const write = (message: string, kind: Kind) => {
    const p = kind.pending;
    if (!p) return;
    kind.pending = null;
    kind.lastLogAt = clock.now();
    logger.warn(
      {
        ...p.first,
        reasons: [...p.byReason.keys()],
        refused: p.count,
        by_reason: Object.fromEntries(p.byReason),
        by_country: top(p.byCountry, TOP_COUNTRIES),
        since: new Date(p.since).toISOString(),
      },
      message,
    );
  };

  return {
    refused(message, fields) {
      const now = clock.now();
      let kind = kinds.get(message);
      if (!kind) {
        kind = { lastLogAt: Number.NEGATIVE_INFINITY, pending: null };
        kinds.set(message, kind);
      }
      if (!kind.pending && now - kind.lastLogAt >= everyMs) {
        kind.lastLogAt = now;
        logger.warn({ ...fields, refused: 1 }, message);
        return;
      }
      let p = kind.pending;
      if (!p) {
        p = { count: 0, first: fields, since: now, byReason: new Map(), byCountry: new Map() };
        kind.pending = p;
        const due = kind;
        const window = p;
        // Only this window's: one flushed early (at shutdown) leaves its timer nothing to write.
        schedule(() => due.pending === window && write(message, due), Math.max(0, kind.lastLogAt + everyMs - now));
      }
      p.count++;
      for (const reason of fields.reasons) add(p.byReason, reason);
      add(p.byCountry, fields.country ?? "none");
    },
    flush() {
      for (const [message, kind] of kinds) write(message, kind);
    },
  };
}
