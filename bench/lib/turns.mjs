// Closed-loop phases measured in turns rather than one after the other. On a shared machine the
// neighbours change from one second to the next: a target measured for ten seconds and then another
// for the next ten meet different neighbours, and their ratio mixes the code with the moment. In
// turns, every phase gets slices spread over the same stretch of time.
import { setTimeout as sleep } from "node:timers/promises";
import { closedLoop, percentile } from "./load.mjs";
import { cpuTimeOf, memoryOf } from "./server.mjs";

/** Turns each phase gets, after its warm-up: its measured time is split in this many slices. */
export const TURNS = 5;

/**
 * Waits (at most 3 s) until the server has been nearly idle for 50 ms: what a slice left for later
 * (event webhooks, the outbox, a checkpoint) is then done, and counted in that slice's CPU rather
 * than in the next phase's time on the core.
 */
async function quiet(pid) {
  const end = performance.now() + 3000;
  let before = cpuTimeOf(pid);
  while (performance.now() < end) {
    await sleep(50);
    const now = cpuTimeOf(pid);
    if (now - before < 5) return;
    before = now;
  }
}

/**
 * Measures `phases` ({ name, pid, op, requestsPerOp = 1, label = name }: `op` one operation against
 * the server `pid`, `label` what the progress lines call it) in turns: each is warmed up once, then
 * gets TURNS slices of the measured duration in a round robin, and its ops, latencies and server CPU
 * are summed over its slices. `note` is written beside each result.
 */
export async function inTurns(phases, opts, note) {
  const sliceMs = opts.durationMs / TURNS;
  const totals = phases.map(() => ({ ops: 0, errors: 0, cpuMs: 0, elapsedMs: 0, latencies: [], reasons: new Map() }));
  const run = (phase, warmupMs, durationMs) =>
    closedLoop({ connections: opts.connections, warmupMs, durationMs, maxOps: opts.maxOps, op: phase.op, keepLatencies: true });
  for (const phase of phases) {
    process.stdout.write(`warming up ${phase.label ?? phase.name} …\n`);
    await run(phase, 0, opts.warmupMs);
  }
  process.stdout.write(`running ${phases.map((p) => p.label ?? p.name).join(", ")} in ${TURNS} turns …\n`);
  for (let turn = 0; turn < TURNS; turn++) {
    for (const [i, phase] of phases.entries()) {
      const cpuBefore = cpuTimeOf(phase.pid);
      const r = await run(phase, 0, sliceMs);
      await quiet(phase.pid);
      const t = totals[i];
      t.cpuMs += cpuTimeOf(phase.pid) - cpuBefore;
      t.ops += r.ops;
      t.errors += r.errors;
      t.elapsedMs += r.elapsedMs;
      t.latencies.push(...r.latencies);
      for (const [why, n] of r.reasons) t.reasons.set(why, (t.reasons.get(why) ?? 0) + n);
    }
  }
  return phases.map((phase, i) => {
    const t = totals[i];
    t.latencies.sort((a, b) => a - b);
    return {
      name: phase.name,
      requestsPerOp: phase.requestsPerOp ?? 1,
      peak: memoryOf(phase.pid)?.peak,
      peakIsPerScenario: false,
      cpuShare: t.cpuMs / t.elapsedMs,
      cpuPerOp: t.cpuMs / t.ops,
      ops: t.ops,
      errors: t.errors,
      reasons: [...t.reasons].sort((a, b) => b[1] - a[1]),
      elapsedMs: t.elapsedMs,
      opsPerSec: (t.ops / t.elapsedMs) * 1000,
      p50: percentile(t.latencies, 0.5),
      p99: percentile(t.latencies, 0.99),
      max: t.latencies.at(-1) ?? Number.NaN,
      endedEarly: null,
      note: `${note} (${TURNS} turns of ${(sliceMs / 1000).toFixed(2)} s)`,
    };
  });
}
