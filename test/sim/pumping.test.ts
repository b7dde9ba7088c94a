import { describe, expect, it } from "vitest";
import type { Outcome } from "../../bench/sim/model.js";
import { quick, scenario } from "../../bench/sim/scenarios.js";
import { simulate } from "../../bench/sim/simulate.js";

/**
 * The traffic model of `npm run sim`, shortened: each wave shape against verifyd with its default
 * settings. Seeded traffic on a simulated clock, so every run sees the same sends in the same order.
 */

/** Simulated hours take real seconds; a busy machine may take several times longer. */
const TIMEOUT = 180_000;

const share = (part: number, whole: number) => part / whole;

function expectDefencesBite(o: Outcome) {
  expect(o.pumpAttempts).toBeGreaterThan(500);
  expect(share(o.pumpRefused, o.pumpAttempts)).toBeGreaterThanOrEqual(0.95);
  expect(o.realUsers).toBeGreaterThan(300);
  expect(share(o.realRefused, o.realUsers)).toBeLessThanOrEqual(0.01);
}

describe("pumping waves, default settings", () => {
  it(
    "refuses at least 95 % of sequential pumping to countries without users, and at most 1 % of real users",
    async () => {
      const o = await simulate(quick(scenario("no-user countries, many IPs")));
      expectDefencesBite(o);
      expect(Object.keys(o.reasons.pump)).toEqual(expect.arrayContaining(["unproven_country"]));
    },
    TIMEOUT,
  );

  it(
    "refuses at least 95 % of pumping in a number range of a country with users, and at most 1 % of real users",
    async () => {
      const o = await simulate(quick(scenario("range in GB, many IPs")));
      expectDefencesBite(o);
      // The range is refused (unproven, or low conversion once its few real users approved), not the
      // country; the bots' resends then find their verifications failed (WhatsApp never arrived).
      const guard = Object.keys(o.reasons.pump).filter((r) => r.startsWith("unproven_") || r.startsWith("low_conversion_"));
      expect(guard.length).toBeGreaterThan(0);
      expect(guard.every((r) => r.endsWith("_range"))).toBe(true);
      expect(Object.keys(o.reasons.pump).filter((r) => !guard.includes(r))).toEqual(["verification_closed"]);
    },
    TIMEOUT,
  );

  it(
    "refuses at least 90 % of a two-hour wave mixed into the busiest country, and at most 1 % of its real users",
    async () => {
      const o = await simulate(quick(scenario("mixed into IN")));
      // In two hours the wave's first sends, before its ranges are judged, weigh more than in the eight
      // hours of `npm run sim` (98.6 % there): 93 % here.
      expect(o.pumpAttempts).toBeGreaterThan(500);
      expect(share(o.pumpRefused, o.pumpAttempts)).toBeGreaterThanOrEqual(0.9);
      expect(o.realUsers).toBeGreaterThan(300);
      expect(share(o.realRefused, o.realUsers)).toBeLessThanOrEqual(0.01);
      // Real users in the pumped ranges still get codes on WhatsApp: only the paying channels are refused.
      expect(Object.keys(o.reasons.pump)).toContain("low_conversion_range");
    },
    TIMEOUT,
  );

  it(
    "in monitor mode refuses nothing and reports what it would have refused",
    async () => {
      const o = await simulate(quick(scenario("range in GB, monitor mode")));
      expect(o.pumpRefused).toBe(0);
      expect(o.realRefused).toBe(0);
      expect(share(o.monitored.pumpSends, o.pumpAttempts)).toBeGreaterThanOrEqual(0.95);
      expect(Object.keys(o.monitored.reasons.pump).some((r) => r.endsWith("_range"))).toBe(true);
    },
    TIMEOUT,
  );
});
