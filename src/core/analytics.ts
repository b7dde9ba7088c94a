import { VerifydError } from "./errors.js";
import type { AnalyticsDimension } from "./model.js";
import type { Clock } from "./ports.js";
import type { AnalyticsStore, FunnelRow, RecentVerification } from "./store/analytics.js";

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
 */

/** A group as the API answers it: the counts and the ratios derived from them. */
export interface FunnelGroup extends FunnelRow {
  /** approved / requested. */
  conversion: number;
  /** messagesSent / approved: the messages paid for per approval; null when nothing was approved. */
  messagesPerApproval: number | null;
}

export const MAX_RANGE_MS = 366 * 24 * 60 * 60 * 1000;
export const DEFAULT_RANGE_MS = 7 * 24 * 60 * 60 * 1000;
export const MAX_RECENT = 100;

const ratio = (num: number, den: number) => (den === 0 ? null : Math.round((num / den) * 10_000) / 10_000);

export function createAnalyticsService(deps: { store: AnalyticsStore; clock: Clock }) {
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
      if (input.groupBy.length < 1 || input.groupBy.length > 2 || new Set(input.groupBy).size !== input.groupBy.length) {
        throw new VerifydError(
          "invalid_request",
          "`group_by` is one or two distinct dimensions, e.g. `channel` or `day,channel`",
        );
      }
      const rows = await deps.store.analytics({
        from,
        to,
        groupBy: input.groupBy,
        ...(input.serviceId ? { serviceId: input.serviceId } : {}),
      });
      const groups = rows.map((r) => ({
        ...r,
        conversion: ratio(r.approved, r.requested) ?? 0,
        messagesPerApproval: ratio(r.messagesSent, r.approved),
      }));
      return { from, to, groups };
    },

    async recent(input: { serviceId?: string; limit: number }): Promise<RecentVerification[]> {
      return deps.store.recentVerifications({ ...input, limit: Math.min(MAX_RECENT, Math.max(1, input.limit)) });
    },
  };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;
