import { HOUR } from "./model.js";

/**
 * The population of the cost model: real users in countries where WhatsApp's reach and the two
 * channels' prices differ, as they do in the world (WhatsApp authentication messages cost a fraction
 * of an SMS in India and more than one in Germany; few Americans use WhatsApp). Prices in EUR, of
 * the order of public list prices; WhatsApp is billed once delivered, SMS once sent.
 */
export interface CostCountry {
  country: string;
  /** Mean starts per hour. */
  perHour: number;
  /** Share of numbers with a WhatsApp account (the rest are rejected at once, unbilled). */
  whatsapp: number;
  waPrice: number;
  smsPrice: number;
  /** Share of SMS that arrive; the rest report undelivered after 20 s (the route falls back). */
  smsDelivers: number;
  /** Share of users who enter the code they receive. */
  enters: number;
}

export const COST_COUNTRIES: CostCountry[] = [
  { country: "IN", perHour: 40, whatsapp: 0.9, waPrice: 0.0014, smsPrice: 0.06, smsDelivers: 0.9, enters: 0.85 },
  { country: "US", perHour: 30, whatsapp: 0.25, waPrice: 0.0135, smsPrice: 0.0079, smsDelivers: 0.97, enters: 0.9 },
  { country: "DE", perHour: 15, whatsapp: 0.85, waPrice: 0.0768, smsPrice: 0.0825, smsDelivers: 0.98, enters: 0.9 },
  { country: "GB", perHour: 15, whatsapp: 0.75, waPrice: 0.0358, smsPrice: 0.0376, smsDelivers: 0.98, enters: 0.9 },
];

export interface CostScenario {
  name: string;
  /** History on the configured route, before the measured part. */
  warmupMs: number;
  durationMs: number;
  countries: CostCountry[];
  /** Environment overrides for verifyd. */
  env?: Record<string, string>;
}

export const COST_SCENARIO: CostScenario = {
  name: "mixed countries, WhatsApp then SMS",
  warmupMs: 24 * HOUR,
  durationMs: 24 * HOUR,
  countries: COST_COUNTRIES,
};

/** The same population, shortened for `npm test` (the warm-up still gives every step its tries). */
export const quickCost = (s: CostScenario): CostScenario => ({ ...s, warmupMs: 16 * HOUR, durationMs: 6 * HOUR });

/** What one run measured, after its warm-up, per country and in all. */
export interface CostRow {
  country: string;
  starts: number;
  approvals: number;
  /** What the model's providers billed (EUR), counted by the model itself. */
  billed: number;
  /** verifyd's own figure for the same verifications (`GET /v1/analytics`). */
  reportedCost: number;
  reportedCostPerApproval: number | null;
}

export interface CostOutcome {
  mode: "fixed" | "learned";
  rows: CostRow[];
  /** Starts that explored another first step (learned). */
  explored: number;
}
