import type { AnalyticsDimension, Channel } from "../model.js";
import type { PriceTable, PriceVersion } from "../prices.js";
import type { AnalyticsQuery } from "./analytics.js";

/**
 * Attempts counted for their cost: per group of the funnel (the verification's keys), per the
 * attempt's own provider and channel, the verification's country and the price version in force
 * when the attempt was created. Core prices them (store rows carry no amounts).
 */
export interface AttemptCountRow {
  key: Partial<Record<AnalyticsDimension, string>>;
  provider: string;
  channel: Channel;
  /** The verification's country, null when unknown (an email address). */
  country: string | null;
  /** The price table version in force at the attempt's creation; null before any table. */
  priceVersion: number | null;
  /** Attempts a provider accepted (billed when the channel bills on send). */
  accepted: number;
  /** Attempts confirmed delivered or read (billed when the channel bills on delivery). */
  delivered: number;
}

/** What one route step did for one country's verifications over a period (steps keyed by channel and first provider). */
export interface StepStatRow {
  channel: Channel;
  /** The step's first provider. */
  provider: string;
  /** Verifications with at least one attempt on this step. */
  tried: number;
  /** Of those, approved while on this step. */
  approved: number;
}

/** Attempts on one step, per the provider and price version that priced them (for the step's cost). */
export interface StepAttemptRow extends Omit<AttemptCountRow, "key" | "country"> {
  stepChannel: Channel;
  stepProvider: string;
}

export interface StepStatsQuery {
  serviceId: string;
  country: string | null;
  /** Verifications created in [from, to). */
  from: number;
  to: number;
}

/** Price table versions and the counts cost analytics and learned routes price. Read-only but `registerPriceTable`. */
export interface CostStore {
  /**
   * Registers the configured table: a new version valid from `now` when it differs (by `fingerprint`)
   * from the newest one, else nothing. Returns the version in force. Atomic.
   */
  registerPriceTable(table: PriceTable, fingerprint: string, now: number): Promise<number>;
  /** Every version, oldest first. */
  listPriceVersions(): Promise<PriceVersion[]>;
  /** Accepted and delivered attempts per group, provider, channel, country and price version. */
  attemptCounts(query: AnalyticsQuery): Promise<AttemptCountRow[]>;
  /** Per route step: tries and approvals, and its attempts for pricing. */
  stepStats(query: StepStatsQuery): Promise<{ steps: StepStatRow[]; attempts: StepAttemptRow[] }>;
}
