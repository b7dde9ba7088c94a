// The overload bench's report (bench/overload.mjs): each phase's answers, what was written or sent
// for departed callers, the probes, the goals, and the floor of refusing.

const GOALS = { answeredWithin1s: 0.99, goodput: 0.9, probeP99Ms: 50 };

export const fixed = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const pct = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "n/a");
const mb = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(0)} MB` : "n/a");

export function reportFloor(floor, phases) {
  if (floor.length === 0) return;
  console.log(
    "\nthe floor of refusing (bench/baseline/refuser.mjs: node:http answering every start 503, nothing else), same loads:",
  );
  const rows = [["load", "offered/s", "floor CPU", "floor ≤ 1 s", "verifyd CPU", "refusing 1 − 1/multiple of it at the floor"]];
  for (const f of floor) {
    const p = phases.find((x) => x.multiple === f.multiple);
    const refusedShare = Math.max(0, 1 - 1 / f.multiple);
    rows.push([
      `${f.multiple}×`,
      fixed(f.rate, 0),
      pct(f.cpuShare, 1),
      pct(f.within, 1),
      p ? pct(p.cpuShare, 1) : "n/a",
      `${pct(f.cpuShare * refusedShare, 1)} of the core`,
    ]);
  }
  printTable(rows);
  console.log(
    "CPU: the server's user + system time over the phase's length (1 = one core). What refusing the excess costs at the\n" +
      "floor is CPU the admitted starts cannot have: goodput can reach at most about (1 − that share) × the rate a saturated core serves.",
  );
}

export function report(phases, sustainable, opts) {
  const seconds = opts.durationMs / 1000;
  console.log(
    `\nsustainable start rate: ${fixed(sustainable, 0)}/s${opts.rate ? "" : " (the highest of the closed loops before and after the loads)"}; open loop ${seconds} s per multiple; callers give up after ${opts.timeoutMs / 1000} s\n`,
  );
  const rows = [
    ["load", "offered/s", "requests", "≤ 1 s", "201", "429", "503", "bad 503", "other", "no answer", "goodput", "× sust."],
  ];
  for (const p of phases) {
    const n = p.run.records.length;
    const { mix } = p.outcome;
    const goodput = mix.ok / seconds;
    rows.push([
      `${p.multiple}×`,
      fixed(p.rate, 0),
      String(n),
      pct(p.outcome.within, n),
      pct(mix.ok, n),
      pct(mix.r429, n),
      pct(mix.r503, n),
      String(mix.bad503),
      String(mix.other),
      pct(mix.none, n),
      `${fixed(goodput, 0)}/s`,
      fixed(goodput / sustainable, 2),
    ]);
  }
  printTable(rows);
  console.log("");
  const more = [
    [
      "load",
      "written for departed",
      "sent for departed",
      "shed (metric)",
      "/healthz, /readyz p99",
      "new conn. max",
      "probe port: p99",
      "new conn. max",
      "peak RSS",
      "gen. lag",
      "gen. CPU",
      "pool wait p50 / p99",
      "on conn. p50 / p99",
    ],
  ];
  for (const p of phases) {
    const written = [...p.written].map(([status, count]) => `${count} ${status}`).join(", ") || "0";
    more.push([
      `${p.multiple}×`,
      written,
      departedText(p.sentForDeparted),
      String(p.shed),
      `${fixed(p.healthz.p99)} / ${fixed(p.readyz.p99)} ms`,
      `${fixed(p.healthzFresh.max, 0)} / ${fixed(p.readyzFresh.max, 0)} ms`,
      p.probePort ? `${fixed(p.probePort.healthz.p99)} / ${fixed(p.probePort.readyz.p99)} ms` : "off",
      p.probePort ? `${fixed(p.probePort.healthzFresh.max, 0)} / ${fixed(p.probePort.readyzFresh.max, 0)} ms` : "off",
      `${mb(p.peak)}${p.peakReset ? "" : " *"}`,
      `${fixed(p.run.worstLagMs, 0)} ms`,
      pct(p.generatorShare, 1),
      `${fixed(p.outcome.split.waitP50, 0)} / ${fixed(p.outcome.split.waitP99, 0)} ms`,
      `${fixed(p.outcome.split.onConnectionP50, 0)} / ${fixed(p.outcome.split.onConnectionP99, 0)} ms`,
    ]);
  }
  printTable(more);
  console.log("");
  console.log("≤ 1 s: requests answered within 1 s of their scheduled time with 201, or 503 problem+json with Retry-After.");
  console.log("bad 503: a 503 without problem+json or Retry-After. no answer: the caller gave up (or the connection failed).");
  console.log("goodput: starts answered 201 per second of offered load (× sust.: over the sustainable rate).");
  console.log("written / sent for departed: verifications in the database, and codes the dryrun channel sent, for");
  console.log("  starts not answered 201 (each start is to a new number, so a 201 is the only way to one). The sends:");
  console.log("  total (left before the write: the caller closed before its verification was written, which the");
  console.log("  guarantee says is never sent; the latest written how long after its caller left).");
  console.log(
    "/healthz, /readyz p99: probed every 20 ms on a kept-alive connection during the load, from a process of its own. new conn. max: the",
  );
  console.log("  slowest of the probes sent every 500 ms on a new connection each, as an orchestrator's (/healthz / /readyz).");
  console.log(
    "  On the API's port, then on the probe port (VERIFYD_PROBE_PORT: the same probes, answered by a thread of their own).",
  );
  console.log("gen. lag: how late the load generator sent its most delayed request (a busy client inflates latencies).");
  console.log("gen. CPU: the load generator's own CPU share (its core is shared with the probes' process); near 100 %, its");
  console.log("  lateness in reading answers counts as the server's.");
  console.log("pool wait: from a request's scheduled time until one of the callers' connections took it (all busy: it waits).");
  console.log("  on conn.: from then until its answer was read, the server's time and the generator's lateness in reading it.");
  for (const p of phases) {
    for (const [why, count] of [...p.outcome.whyNone].sort((a, b) => b[1] - a[1]).slice(0, 3))
      console.log(`${p.multiple}×: ${count} × no answer (${why})`);
    const all = [p.healthz, p.healthzFresh, p.readyz, p.readyzFresh, ...(p.probePort ? Object.values(p.probePort) : [])];
    const failed = all.reduce((n, r) => n + r.failures, 0);
    if (failed) console.log(`${p.multiple}×: ${failed} probes failed or timed out`);
  }
  console.log("\ngoals (at every multiple ≥ 4):");
  for (const p of phases.filter((x) => x.multiple >= 4)) {
    const n = p.run.records.length;
    const goodput = p.outcome.mix.ok / seconds / sustainable;
    const checks = [
      [`≥ ${GOALS.answeredWithin1s * 100}% answered within 1 s`, p.outcome.within / n >= GOALS.answeredWithin1s],
      [`goodput ≥ ${GOALS.goodput}× sustainable`, goodput >= GOALS.goodput],
      ["nothing sent for callers that left before their start was written", p.sentForDeparted.before === 0],
      p.probePort
        ? [
            `probes p99 < ${GOALS.probeP99Ms} ms on the probe port`,
            p.probePort.healthz.p99 < GOALS.probeP99Ms && p.probePort.readyz.p99 < GOALS.probeP99Ms,
          ]
        : [`probes p99 < ${GOALS.probeP99Ms} ms`, p.healthz.p99 < GOALS.probeP99Ms && p.readyz.p99 < GOALS.probeP99Ms],
    ];
    console.log(`  ${p.multiple}×: ${checks.map(([what, ok]) => `${what}: ${ok ? "yes" : "NO"}`).join("; ")}`);
  }
}

/** A phase's sends for departed callers: the total, and how many had left before their start was written. */
function departedText({ before, after, unknown, lateMs }) {
  const total = before + after + unknown;
  if (total === 0) return "0";
  return `${total} (left before the write: ${before}${before ? `, ≤ ${fixed(lateMs, 0)} ms` : ""})`;
}

function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows)
    console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("   "));
}
