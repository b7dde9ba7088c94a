// The bench's printed report: each target's results, the targets side by side with their ratios,
// start-up, seeded against empty databases, and the refused starts against accepted ones.

export const mb = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)} MB` : "n/a");
export const fixed = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** Server CPU per refused start against start-only's, in the same run: the goal is ⅓ at most. */
export function refusedRatios({ name, dataset, results }) {
  const accepted = results.find((r) => r.name === "start-only");
  const refused = results.filter((r) => r.name.startsWith("refused") || r.name.startsWith("floor"));
  if (refused.length === 0) return;
  console.log(`refused / accepted start, server CPU per request (${name}, ${dataset} database; goal ≤ 0.33):`);
  for (const r of refused) {
    const ratio = accepted
      ? `${fixed(r.cpuPerOp, 3)} ms / ${fixed(accepted.cpuPerOp, 3)} ms = ${fixed(r.cpuPerOp / accepted.cpuPerOp, 2)}`
      : `${fixed(r.cpuPerOp, 3)} ms (no ratio: start-only was not measured)`;
    console.log(`  ${r.name.padEnd(18)} ${ratio}`);
  }
  console.log("");
}

export function report({ name, dataset, results, captured }) {
  console.log(`\n${name}, ${dataset} database (${captured.received} codes captured, ${captured.malformed} malformed lines)`);
  const rows = [
    ["scenario", "req/s", "ops/s", "p50 ms", "p99 ms", "max ms", "errors", "ops", "server CPU", "CPU ms/op", "peak RSS"],
  ];
  for (const r of results) {
    rows.push([
      r.name,
      fixed(r.opsPerSec * r.requestsPerOp),
      fixed(r.opsPerSec),
      fixed(r.p50, 2),
      fixed(r.p99, 2),
      fixed(r.max, 1),
      String(r.errors),
      String(r.ops),
      `${fixed(r.cpuShare * 100, 0)}%`,
      fixed(r.cpuPerOp, 2),
      `${mb(r.peak)}${r.peakIsPerScenario ? "" : " *"}`,
    ]);
  }
  console.log("");
  printTable(rows);
  console.log("");
  console.log(
    "ops: one request (start-only, check-only, mixed) or start + captured code + check (full flow); latencies are per op.",
  );
  console.log(
    "errors: non-2xx, timeouts, or a wrong outcome (a start not pending, a correct code not approved, a wrong one approved).",
  );
  console.log("mixed: 70% starts, 25% correct checks, 5% wrong codes, on verifications the same load started.");
  if (results.some((r) => r.name.startsWith("refused")))
    console.log(
      "refused: starts to new numbers answered 403 blocked by a second verifyd: for the country send velocity (1/1h), or a conversion-guard block on the country.",
    );
  console.log("server CPU: user + system time of the server process over the measured phase (100% = one core).");
  if (results.some((r) => !r.peakIsPerScenario))
    console.log("*: the peak since the server started (VmHWM could not be reset, or the row was measured in turns).");
  for (const r of results) {
    if (r.note) console.log(`${r.name}: ${r.note}`);
    if (r.endedEarly) console.log(`${r.name}: ended early (${r.endedEarly}) after ${fixed(r.elapsedMs / 1000, 2)} s measured`);
    for (const [why, count] of r.reasons.slice(0, 5)) console.log(`${r.name}: ${count} × ${why}`);
  }
}

/** The ratios printed beside the targets, when both sides were measured: the comparison that matters first. */
const RATIOS = [
  ["verifyd", "equivalent"],
  ["verifyd", "baseline"],
  ["equivalent", "baseline"],
];

/**
 * The targets side by side, scenario by scenario (same run, same machine state): server CPU per op,
 * p99, throughput and peak RSS, each with the ratios between targets.
 */
export function compare(runs, dataset, order) {
  const names = order.filter((t) => runs.some((r) => r.name === t));
  const byName = Object.fromEntries(runs.map((r) => [r.name, r]));
  const ratios = RATIOS.filter(([a, b]) => byName[a] && byName[b]);
  const scenarios = [...new Set(runs.flatMap((run) => run.results.map((r) => r.name)))];
  const metrics = [
    ["server CPU ms per op", (r) => r.cpuPerOp, (n) => fixed(n, 3)],
    ["p99 latency, ms", (r) => r.p99, (n) => fixed(n, 1)],
    ["throughput, ops/s", (r) => r.opsPerSec, (n) => fixed(n, 0)],
    ["peak RSS", (r) => r.peak, mb],
  ];
  for (const [title, value, format] of metrics) {
    console.log(`${title} (${dataset} database):\n`);
    const rows = [["scenario", ...names, ...ratios.map(([a, b]) => `${a} / ${b}`)]];
    for (const scenario of scenarios) {
      const of = (name) => byName[name].results.find((r) => r.name === scenario);
      const v = (name) => (of(name) ? value(of(name)) : Number.NaN);
      rows.push([
        scenario,
        ...names.map((n) => format(v(n))),
        ...ratios.map(([a, b]) => (Number.isFinite(v(a) / v(b)) ? `${fixed(v(a) / v(b), 2)}×` : "n/a")),
      ]);
    }
    printTable(rows);
    console.log("");
  }
}

/** Start-up (spawn to the first /readyz 200) and the idle footprint, per target and database. */
export function startupTable(runs) {
  const rows = [["target", "database", "start-up ms", "idle RSS"]];
  for (const r of runs) rows.push([r.name, r.dataset, fixed(r.startupMs, 0), mb(r.idle?.rss)]);
  console.log("start-up (spawn to /readyz 200) and idle RSS (0.5 s after ready):\n");
  printTable(rows);
  console.log("");
}

/** The seeded runs against the empty ones, per target and scenario. */
export function scaling(runs, [empty, seeded]) {
  console.log(`${seeded.label} / empty, same target:`);
  for (const run of runs.filter((r) => r.dataset === seeded.label)) {
    const before = runs.find((r) => r.dataset === empty.label && r.name === run.name);
    console.log(`  ${run.name}: start-up ${fixed(run.startupMs / before.startupMs, 2)}×`);
    for (const r of run.results) {
      const base = before.results.find((x) => x.name === r.name);
      if (!base) continue;
      console.log(
        `    ${r.name.padEnd(11)} throughput ${fixed(r.opsPerSec / base.opsPerSec, 2)}×   p99 ${fixed(r.p99 / base.p99, 2)}×   peak RSS ${fixed(r.peak / base.peak, 2)}×`,
      );
    }
  }
  console.log("");
}

function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows)
    console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("   "));
}
