import type { Channel } from "./model.js";
import { type BilledOn, DEFAULT_BILLED_ON, fromMicros, type PriceVersion, priceOf } from "./prices.js";

/**
 * Prices attempt counts. A channel billed on send costs each accepted attempt, one billed on delivery
 * each delivered one. The price is the one of the version in force when the attempt was created, in
 * the current table's currency: an attempt priced by a version of another currency, or not priced
 * at all, is counted in `unpriced` and costs nothing here.
 */

export interface PricedCounts {
  provider: string;
  channel: Channel;
  country: string | null;
  priceVersion: number | null;
  accepted: number;
  delivered: number;
}

export interface CostTotals {
  /** Messages billed under their channel's rule (priced or not). */
  billable: number;
  /** Micro-units of the currency. */
  costMicros: number;
  /** Billable messages no price (in the currency) applied to. */
  unpriced: number;
}

export const emptyTotals = (): CostTotals => ({ billable: 0, costMicros: 0, unpriced: 0 });

export function addPriced(
  totals: CostTotals,
  row: PricedCounts,
  versions: ReadonlyMap<number, PriceVersion>,
  currency: string | null,
): CostTotals {
  const version = row.priceVersion === null ? undefined : versions.get(row.priceVersion);
  const price =
    version && version.table.currency === currency ? priceOf(version.table, row.provider, row.channel, row.country) : null;
  const billedOn: BilledOn = price?.billedOn ?? DEFAULT_BILLED_ON[row.channel];
  const billable = billedOn === "delivery" ? row.delivered : row.accepted;
  totals.billable += billable;
  if (price) totals.costMicros += billable * price.micros;
  else totals.unpriced += billable;
  return totals;
}

/** A ratio to 4 decimals, or null over nothing. */
export const ratio4 = (num: number, den: number): number | null => (den === 0 ? null : Math.round((num / den) * 10_000) / 10_000);

/** Micro-units per approval, as an amount to 6 decimals; null without an approval. */
export const costPerApproval = (costMicros: number, approved: number): number | null =>
  approved === 0 ? null : fromMicros(costMicros / approved);
