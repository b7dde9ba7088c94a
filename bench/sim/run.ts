import { fork } from "node:child_process";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { simulateCost } from "./cost.js";
import { COST_SCENARIO } from "./cost-model.js";
import { costTable } from "./cost-report.js";
import type { Outcome, Scenario } from "./model.js";
import { table } from "./report.js";
import { SCENARIOS } from "./scenarios.js";

/**
 * `npm run sim`: every scenario against verifyd with its default settings, printed as a table.
 *   npm run sim -- --seed 7                           another draw of the same traffic
 *   npm run sim -- --only "range"                     scenarios whose name contains "range"
 *   npm run sim -- --env VERIFYD_ABUSE_MODE=monitor   settings to compare (repeatable)
 *   npm run sim -- --cost                             cost per approval: the fixed route against the learned one
 */

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    only: { type: "string" },
    env: { type: "string", multiple: true, default: [] },
    cost: { type: "boolean", default: false },
  },
});
const env = Object.fromEntries(
  (values.env ?? []).map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--env ${pair}: expected NAME=value`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
const seed = Number(values.seed);
if (values.cost) {
  // The same seeded population twice, one run after the other in this process.
  const scenario = { ...COST_SCENARIO, env: { ...COST_SCENARIO.env, ...env } };
  const began = performance.now();
  const fixed = await simulateCost(scenario, "fixed", seed);
  const learned = await simulateCost(scenario, "learned", seed);
  process.stderr.write(`${scenario.name}: ${((performance.now() - began) / 1000).toFixed(0)} s\n`);
  console.log(
    `seed ${seed}: ${scenario.name}, ${scenario.durationMs / 3_600_000} h measured after ${scenario.warmupMs / 3_600_000} h of history\n`,
  );
  console.log(costTable(fixed, learned));
  process.exit(0);
}
const chosen = SCENARIOS.filter((s) => !values.only || s.name.includes(values.only)).map((s) => ({
  ...s,
  env: { ...s.env, ...env },
}));

/** Runs a scenario in a child process (worker.ts), with the loader this process runs under. */
function runApart(scenario: Scenario): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = fork(new URL("./worker.ts", import.meta.url), { execArgv: process.execArgv });
    child.once("message", (outcome) => {
      process.stderr.write(`${scenario.name}: ${((performance.now() - began) / 1000).toFixed(0)} s\n`);
      resolve(outcome as Outcome);
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`${scenario.name}: the simulation exited with ${code}`));
    });
    child.send({ scenario, seed });
  });
}

const outcomes: Outcome[] = new Array(chosen.length);
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(chosen.length, availableParallelism()) }, async () => {
    for (let i = next++; i < chosen.length; i = next++) outcomes[i] = await runApart(chosen[i] as Scenario);
  }),
);
const settings = Object.entries(env).map(([k, v]) => `${k}=${v}`);
console.log(`seed ${seed}${settings.length > 0 ? `, ${settings.join(" ")}` : ", default settings"}\n`);
console.log(table(outcomes));
