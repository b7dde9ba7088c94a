import type { AnalyticsDimension, Delivery, Verification } from "../model.js";

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
