import { VerifydError } from "./errors.js";
import type { Clock, Delivery, Verification } from "./ports.js";

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

export type AnalyticsDimension = "channel" | "country" | "provider" | "day";

export const ANALYTICS_DIMENSIONS: readonly AnalyticsDimension[] = ["channel", "country", "provider", "day"];

export interface AnalyticsQuery {
  /** Inclusive lower bound on `created_at` (epoch ms). */
  from: number;
  /** Exclusive upper bound on `created_at` (epoch ms). */
  to: number;
  /** One or two distinct dimensions; groups are keyed by all of them. */
  groupBy: readonly AnalyticsDimension[];
  /** One service's verifications; every service when absent. */
  serviceId?: string;
}

/** What a store computes per group. */
export interface FunnelRow {
  /**
   * The group's key per dimension: `channel` is the channel of the route step the verification
   * ended on (`inbound` for person-to-application ones), `provider` the provider of its latest
   * delivery (`none` without one), `country` its ISO code (`unknown` without one), `day` the UTC
   * date of `created_at` (YYYY-MM-DD).
   */
  key: Partial<Record<AnalyticsDimension, string>>;
  requested: number;
  sent: number;
  delivered: number;
  checked: number;
  approved: number;
  messagesSent: number;
  /** Median of `approved_at - created_at` over the group's approved verifications; null when none. */
  medianApproveMs: number | null;
}

/** A group as the API answers it: the counts and the ratios derived from them. */
export interface FunnelGroup extends FunnelRow {
  /** approved / requested. */
  conversion: number;
  /** messagesSent / approved: the messages paid for per approval; null when nothing was approved. */
  messagesPerApproval: number | null;
}

export interface RecentVerification {
  verification: Verification;
  deliveries: Delivery[];
}

/** The analytics reads of the Store. Both are read-only and bounded. */
export interface AnalyticsStore {
  /** Funnel counts per group, ordered by the group key. */
  analytics(query: AnalyticsQuery): Promise<FunnelRow[]>;
  /** The newest verifications (by `created_at`), with their deliveries oldest first. */
  recentVerifications(query: { serviceId?: string; limit: number }): Promise<RecentVerification[]>;
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
