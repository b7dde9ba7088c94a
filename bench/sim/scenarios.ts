import { HOUR, type RealTraffic, type Scenario, type Wave } from "./model.js";

/**
 * The scenarios `npm run sim` runs: half a day of real traffic in four countries on a WhatsApp →
 * SMS route after six hours of history, alone (also on a first day, with no history) and with each
 * shape of pumping wave: eight hours of it, from the second hour.
 */

export const REAL: RealTraffic[] = [
  { country: "US", perHour: 40, whatsapp: 0.2, enters: 0.85, returning: 0.3 },
  { country: "GB", perHour: 30, whatsapp: 0.7, enters: 0.85, returning: 0.3 },
  { country: "DE", perHour: 20, whatsapp: 0.85, enters: 0.88, returning: 0.3 },
  { country: "IN", perHour: 100, whatsapp: 0.9, enters: 0.8, returning: 0.3 },
];

const FEW_IPS = 5;
const EACH_REQUEST = 0;

/** Sequential numbers in three countries where the service has no users. */
const unproven = (ips: number): Wave[] =>
  ["UZ", "KG", "TJ"].map((country) => ({
    label: `sequential ${country}`,
    country,
    pattern: "sequential",
    ranges: 2,
    rangeSize: 10_000,
    perHour: 100,
    startAt: HOUR,
    durationMs: 8 * HOUR,
    ips,
    resends: 1,
    realShare: 0,
  }));

/**
 * Numbers drawn at random in one block of a million numbers of a country with real users, 2 % of
 * whom have their numbers in that block too.
 */
const inRange = (ips: number): Wave[] => [
  {
    label: "range GB",
    country: "GB",
    pattern: "random",
    ranges: 1,
    rangeSize: 1_000_000,
    perHour: 300,
    startAt: HOUR,
    durationMs: 8 * HOUR,
    ips,
    resends: 1,
    realShare: 0.02,
  },
];

const base = { startHour: 0, warmupMs: 6 * HOUR, durationMs: 12 * HOUR, real: REAL };

export const SCENARIOS: Scenario[] = [
  { ...base, name: "real users only", description: "no pumping: what the defences cost real users", waves: [] },
  {
    ...base,
    warmupMs: 0,
    name: "real users, first day",
    description: "no pumping and no history: a new deployment, where every destination is on probation",
    waves: [],
  },
  {
    ...base,
    name: "no-user countries, few IPs",
    description: "sequential numbers in UZ, KG, TJ from 5 IPs",
    waves: unproven(FEW_IPS),
  },
  {
    ...base,
    name: "no-user countries, many IPs",
    description: "sequential numbers in UZ, KG, TJ, a new IP per request",
    waves: unproven(EACH_REQUEST),
  },
  {
    ...base,
    name: "range in GB, few IPs",
    description: "random numbers in a million-number block of GB where 2 % of its users are, from 5 IPs",
    waves: inRange(FEW_IPS),
  },
  {
    ...base,
    name: "range in GB, many IPs",
    description: "random numbers in a million-number block of GB where 2 % of its users are, a new IP per request",
    waves: inRange(EACH_REQUEST),
  },
  {
    ...base,
    name: "mixed into IN",
    description:
      "random numbers in three blocks of IN (the busiest country; 2 % of its users are there), at 1.5 times its real volume",
    real: REAL.map((t) => (t.country === "IN" ? { ...t, perHour: 200 } : t)),
    waves: [
      {
        label: "mix IN",
        country: "IN",
        pattern: "random",
        ranges: 3,
        rangeSize: 1_000_000,
        perHour: 300,
        startAt: HOUR,
        durationMs: 8 * HOUR,
        ips: EACH_REQUEST,
        resends: 1,
        realShare: 0.02,
      },
    ],
  },
  {
    ...base,
    name: "range in GB, monitor mode",
    description: "the GB wave with VERIFYD_ABUSE_MODE=monitor: what would have been refused",
    waves: inRange(EACH_REQUEST),
    env: { VERIFYD_ABUSE_MODE: "monitor" },
  },
];

/**
 * A scenario shortened for `npm test`: an hour of history, then two measured hours of the day's
 * busiest stretch, the wave from the first quarter hour to the end. Rates and shapes stay as they are.
 */
export function quick(scenario: Scenario): Scenario {
  return {
    ...scenario,
    startHour: 9,
    warmupMs: Math.min(scenario.warmupMs, HOUR),
    durationMs: 2 * HOUR,
    waves: scenario.waves.map((w) => ({ ...w, startAt: HOUR / 4, durationMs: (7 * HOUR) / 4 })),
  };
}

export const scenario = (name: string): Scenario => {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) throw new Error(`no scenario "${name}"`);
  return found;
};
