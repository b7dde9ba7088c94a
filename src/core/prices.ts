import { createHash } from "node:crypto";
import type { Channel } from "./model.js";

/**
 * What the operator pays providers per message, from the config file's `prices`. Amounts are kept in
 * micro-units of the table's currency (integers), so sums over millions of messages are exact.
 * A failed attempt is billed or not by its channel's rule: WhatsApp authentication templates and
 * RCS are billed once delivered, SMS, voice and email once the provider accepted the send.
 */

/** `send`: billed when the provider accepts it; `delivery`: only once it is delivered (or read). */
export type BilledOn = "send" | "delivery";

export const DEFAULT_BILLED_ON: Record<Channel, BilledOn> = {
  sms: "send",
  voice: "send",
  email: "send",
  whatsapp: "delivery",
  rcs: "delivery",
};

/** The price of one provider × channel: a default, by-country overrides, and when it is billed. */
export interface ChannelPrice {
  /** Micro-units per message; null when only some countries are priced. */
  defaultMicros: number | null;
  countries: Record<string, number>;
  billedOn: BilledOn;
}

export interface PriceTable {
  /** ISO 4217, e.g. `EUR`. */
  currency: string;
  /** provider name → channel → price. */
  providers: Record<string, Partial<Record<Channel, ChannelPrice>>>;
}

/** A table as registered by the store: the version in force from `validFrom` until the next one's. */
export interface PriceVersion {
  version: number;
  validFrom: number;
  table: PriceTable;
}

export const MICROS = 1_000_000;

/** Micro-units of a decimal amount (0.0075 → 7500), rounded to the micro-unit. */
export const toMicros = (amount: number): number => Math.round(amount * MICROS);

/** A micro-unit amount as a decimal, 6 places at most (7500 → 0.0075). */
export const fromMicros = (micros: number): number => Math.round(micros) / MICROS;

/** The price of one message, or null when the table does not price this provider, channel and country. */
export function priceOf(
  table: PriceTable,
  provider: string,
  channel: Channel,
  country: string | null,
): { micros: number; billedOn: BilledOn } | null {
  const entry = table.providers[provider]?.[channel];
  if (!entry) return null;
  const micros = (country ? entry.countries[country] : undefined) ?? entry.defaultMicros;
  return micros === null || micros === undefined ? null : { micros, billedOn: entry.billedOn };
}

/** The version in force at `at`: the newest one that started at or before it. */
export function versionAt(versions: readonly PriceVersion[], at: number): PriceVersion | null {
  let found: PriceVersion | null = null;
  for (const v of versions) if (v.validFrom <= at && (!found || v.version > found.version)) found = v;
  return found;
}

/** A stable fingerprint of a table (keys sorted), so an unchanged table is not registered again. */
export function priceFingerprint(table: PriceTable): string {
  return createHash("sha256").update(canonicalJson(table)).digest("hex").slice(0, 32);
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
