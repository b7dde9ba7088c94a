import { describe, expect, it } from "vitest";
import { simulateCost } from "../../bench/sim/cost.js";
import { COST_SCENARIO, type CostRow, quickCost } from "../../bench/sim/cost-model.js";
import { saving } from "../../bench/sim/cost-report.js";

/**
 * The cost model of `npm run sim -- --cost`, shortened: the same seeded population on the route as
 * configured (WhatsApp, then SMS) and on the learned route, on a simulated clock.
 */

/** Simulated hours take real seconds; a busy machine may take several times longer. */
const TIMEOUT = 180_000;

const byCountry = (rows: CostRow[]) => Object.fromEntries(rows.map((r) => [r.country, r]));
const all = (rows: CostRow[]) => ({
  approvals: rows.reduce((n, r) => n + r.approvals, 0),
  billed: rows.reduce((n, r) => n + r.billed, 0),
});

describe("learned route order against the traffic model", () => {
  it(
    "lowers the cost per approval where the configured order is the dearer one, and approves as many users",
    async () => {
      const scenario = quickCost(COST_SCENARIO);
      const fixed = await simulateCost(scenario, "fixed");
      const learned = await simulateCost(scenario, "learned");
      const f = byCountry(fixed.rows);
      const l = byCountry(learned.rows);
      for (const country of ["IN", "US", "DE", "GB"]) {
        // The same people, and as many approved: conversion did not drop.
        expect(l[country]?.starts, country).toBe(f[country]?.starts);
        expect(l[country]?.approvals, country).toBeGreaterThanOrEqual(f[country]?.approvals ?? 0);
        expect(f[country]?.starts, country).toBeGreaterThan(50);
        // verifyd's own analytics agree with what the providers billed, to the micro-unit.
        expect(f[country]?.reportedCost, country).toBe(f[country]?.billed);
        expect(l[country]?.reportedCost, country).toBe(l[country]?.billed);
      }
      // Few Americans use WhatsApp, which costs more than an SMS there: SMS goes first.
      expect(saving(f.US as CostRow, l.US as CostRow)).toBeGreaterThan(0.1);
      // Where WhatsApp is the cheaper success already, nothing changes.
      expect(l.IN?.billed).toBeLessThanOrEqual((f.IN?.billed ?? 0) * 1.01);
      const [a, b] = [all(fixed.rows), all(learned.rows)];
      expect(b.approvals).toBe(a.approvals);
      expect(b.billed / b.approvals).toBeLessThan(a.billed / a.approvals);
    },
    TIMEOUT,
  );
});
