import { addPriced, type CostTotals, costPerApproval, emptyTotals, ratio4 } from "./costs.js";
import { VerifydError } from "./errors.js";
import type { AnalyticsDimension } from "./model.js";
import type { Clock } from "./ports.js";
import { fromMicros, type PriceVersion } from "./prices.js";
import type { AnalyticsStore, FunnelRow, RecentVerification } from "./store/analytics.js";
import type { CostStore } from "./store/costs.js";

/**
 * Conversion analytics: how many verifications reach each stage of the funnel, per group.
 * The stages, as every store must compute them (one verification counts at most once per stage):
 * - requested: the verification was created in the range (by `created_at`);
 * - sent: at least one of its deliveries was accepted by a provider (status accepted, sent,
 *   delivered or read, or a provider message id recorded before a later failed receipt);
 * - delivered: at least one delivery was confirmed by the provider (status delivered or read);
 * - checked: at least one code check was counted, or it was approved (inbound approvals have no check);
 * - approved: it was approved.
 * `messagesSent` counts the accepted deliveries themselves (resends and fallbacks included).
 *
 * Cost (with a price table): every attempt of the group's verifications, whatever step it was on, at
 * the price of its own provider, channel and the verification's country in force when it was created;
 * billable when accepted (channels billed on send) or delivered (billed on delivery). Cost per
 * approval is the group's cost over its approvals: what one successful verification cost.
 */

/** A group as the API answers it: the counts and the ratios derived from them. */
export interface FunnelGroup extends FunnelRow {
  /** approved / requested. */
  conversion: number;
  /** messagesSent / approved: the messages paid for per approval; null when nothing was approved. */
  messagesPerApproval: number | null;
  /** Messages billed under their channel's rule (see prices.ts). */
  billableMessages: number;
  billableMessagesPerApproval: number | null;
  /** In `currency`; null without a price table. */
  cost: number | null;
  costPerApproval: number | null;
  currency: string | null;
  /** Billable messages no price applied to (no entry for their provider, channel and country). */
  unpricedMessages: number;
}

export const MAX_RANGE_MS = 366 * 24 * 60 * 60 * 1000;
export const DEFAULT_RANGE_MS = 7 * 24 * 60 * 60 * 1000;
export const MAX_RECENT = 100;

const ratio = ratio4;

/** The group key as one string, to join funnel rows and their priced attempts. */
const keyOf = (key: Partial<Record<AnalyticsDimension, string>>, dims: readonly AnalyticsDimension[]) =>
  JSON.stringify(dims.map((d) => key[d] ?? null));

export function createAnalyticsService(deps: {
  store: AnalyticsStore & CostStore;
  clock: Clock;
  /** The configured price table's currency; null or absent: no costs. */
  currency?: string | null;
}) {
  const currency = deps.currency ?? null;

  /** Cost totals per group key. */
  async function costs(query: Parameters<CostStore["attemptCounts"]>[0]): Promise<Map<string, CostTotals>> {
    const [rows, list] = await Promise.all([deps.store.attemptCounts(query), deps.store.listPriceVersions()]);
    const versions = new Map<number, PriceVersion>(list.map((v) => [v.version, v]));
    const byKey = new Map<string, CostTotals>();
    for (const row of rows) {
      const k = keyOf(row.key, query.groupBy);
      byKey.set(k, addPriced(byKey.get(k) ?? emptyTotals(), row, versions, currency));
    }
    return byKey;
  }

  return {
    /** `to` defaults to now and `from` to seven days before `to`; the range is at most 366 days. */
    async funnel(input: {
      from?: number;
      to?: number;
      groupBy: readonly AnalyticsDimension[];
      serviceId?: string;
    }): Promise<{ from: number; to: number; groups: FunnelGroup[] }> {
      const to = input.to ?? deps.clock.now();
      const from = input.from ?? to - DEFAULT_RANGE_MS;
      if (from >= to) throw new VerifydError("invalid_request", "`from` must be before `to`");
      if (to - from > MAX_RANGE_MS) throw new VerifydError("invalid_request", "the range is at most 366 days");
      if (input.groupBy.length < 1 || input.groupBy.length > 3 || new Set(input.groupBy).size !== input.groupBy.length) {
        throw new VerifydError(
          "invalid_request",
          "`group_by` is one to three distinct dimensions, e.g. `channel`, `day,channel` or `country,channel,provider`",
        );
      }
      const query = { from, to, groupBy: input.groupBy, ...(input.serviceId ? { serviceId: input.serviceId } : {}) };
      const [rows, priced] = await Promise.all([deps.store.analytics(query), costs(query)]);
      const groups = rows.map((r): FunnelGroup => {
        const c = priced.get(keyOf(r.key, input.groupBy)) ?? emptyTotals();
        return {
          ...r,
          conversion: ratio(r.approved, r.requested) ?? 0,
          messagesPerApproval: ratio(r.messagesSent, r.approved),
          billableMessages: c.billable,
          billableMessagesPerApproval: ratio(c.billable, r.approved),
          cost: currency === null ? null : fromMicros(c.costMicros),
          costPerApproval: currency === null ? null : costPerApproval(c.costMicros, r.approved),
          currency,
          unpricedMessages: c.unpriced,
        };
      });
      return { from, to, groups };
    },

    async recent(input: { serviceId?: string; limit: number }): Promise<RecentVerification[]> {
      return deps.store.recentVerifications({ ...input, limit: Math.min(MAX_RECENT, Math.max(1, input.limit)) });
    },
  };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;
