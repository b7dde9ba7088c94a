import type { Scenario } from "./model.js";
import { simulate } from "./simulate.js";

/**
 * One scenario in a process of its own, started by run.ts: scenarios run side by side, and what one
 * verifyd leaves behind (timers of its rate limiter) cannot outlive it into the next.
 */
process.once("message", async (message: { scenario: Scenario; seed: number }) => {
  const outcome = await simulate(message.scenario, message.seed);
  process.send?.(outcome, undefined, undefined, () => process.exit(0));
});
