// Load benchmark of the built server: `npm run bench -- [--duration 10] [--connections 32] …` (see --help).
// Spawns `node dist/cli.js serve` as in production (every limit, the outbox and events on) with the
// dryrun channel, whose codes come back through a FIFO, on a fresh (or seeded) SQLite file, then drives
// closed-loop scenarios from this process: start-only, check-only, the full flow and a mixed load;
// and, for verifyd only, refused starts (a pumping wave refused by the country send velocity or by a
// conversion-guard block) on a second server whose settings make them refused.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { captureCodes } from "./lib/capture.mjs";
import { closedLoop, createClient } from "./lib/load.mjs";
import { profileReport } from "./lib/profile.mjs";
import { compare, fixed, refusedRatios, report, scaling, startupTable } from "./lib/report.mjs";
import { BLOCKED_COUNTRY, blockedNumbers, phoneNumbers, workloads } from "./lib/scenarios.mjs";
import { cachedSecret, seedCountryBlock, seedDatabases } from "./lib/seeding.mjs";
import { cpuTimeOf, freePort, memoryOf, pinningSupport, pinProcess, resetPeak, startServer, stopServer } from "./lib/server.mjs";
import { startEventSink } from "./lib/sink.mjs";
import { inTurns, TURNS } from "./lib/turns.mjs";

const HELP = `Usage: npm run bench -- [options]

  --duration <s>        measured time per scenario (default 10)
  --warmup <s>          unrecorded warm-up before each scenario (default 2)
  --connections <n>     concurrent closed-loop clients (default 32)
  --scenarios <list>    any of start,check,flow,mixed,refused (default the first four); refused (verifyd
                        only): starts refused 403 blocked, on a second verifyd with the country send
                        velocity at 1/1h and a conversion-guard block on one country, as a pumping
                        wave meets them, and requests with an unknown key (401, about the floor);
                        measured in turns with start-only (always measured with it), and set against it
  --rows <n>            also run every scenario on databases seeded with n verifications
                        (npm run bench:seed) and print seeded / empty ratios (default 0: empty only)
  --seed-cache <dir>    keep the seeded databases (and the secret they were written under) in dir
                        and copy them on later runs with the same --rows, instead of seeding again
  --targets <list>      servers to measure, in order, any of baseline,equivalent,verifyd (default all
                        three, then side-by-side tables with the ratios); baseline is the minimal OTP,
                        equivalent does the work a production verification must do (bench/baseline/)
  --check-pool <n>      pending verifications for check-only, each checked once (default: 5 × start rate × (warm-up + duration))
  --max-requests <n>    cap on operations per scenario, warm-up included (default 2000000)
  --cpu-prof            profile each server (node --cpu-prof) and print its top functions by self time
  --sequential          measure the targets one after the other; by default, with more than one target
                        and no refused scenario, every target runs at once and each scenario is measured
                        in ${TURNS} turns across them, so the ratios compare the same moments of the machine
  --server-env <K=V>    extra environment for verifyd, repeatable (e.g. VERIFYD_EVENTS_URL= to measure
                        without event webhooks); the defaults are the production-like settings below.
                        VERIFYD_LOG_LEVEL and VERIFYD_LIMIT_* given here apply to the equivalent too`;

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** One secret for the whole run: a seeded database's rows were written under it. */
let SECRET = randomBytes(48).toString("base64");
/** Check-only runs about 4× faster than start-only; the automatic pool allows 5×. */
const CHECKS_PER_START = 5;
const TARGETS = ["baseline", "equivalent", "verifyd"];
const SCENARIOS = ["start", "check", "flow", "mixed", "refused"];
/**
 * The refused scenario's verifyd: every limit as in the other scenarios, but the country send
 * velocity lets one send per country and hour through, so a wave of starts to one country is
 * refused after counting its prefix and country (the dearest refusal); and its database holds a
 * conversion-guard block on BLOCKED_COUNTRY (seeded), which refuses before any counter moves.
 */
const REFUSING_ENV = { VERIFYD_LIMIT_SENDS_PER_COUNTRY: "1/1h" };
/**
 * The limits both verifyd and the equivalent baseline count (as VERIFYD_LIMIT_<rule> and LIMIT_<rule>).
 * The load sends from one API key to one number range: the rules stay on (and counted) but must not bite.
 */
const LIMITS = {
  REQUESTS_PER_KEY: "100000000/1m",
  SENDS_PER_DESTINATION: "1000/10m",
  SENDS_PER_PREFIX: "100000000/1h",
  SENDS_PER_COUNTRY: "100000000/1h",
  FAILED_CHECKS_PER_DESTINATION: "10/1h",
};

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      connections: { type: "string", default: "32" },
      scenarios: { type: "string", default: "start,check,flow,mixed" },
      rows: { type: "string", default: "0" },
      "seed-cache": { type: "string" },
      targets: { type: "string", default: TARGETS.join(",") },
      "check-pool": { type: "string" },
      "max-requests": { type: "string", default: "2000000" },
      "cpu-prof": { type: "boolean", default: false },
      "server-env": { type: "string", multiple: true, default: [] },
      sequential: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const number = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  const scenarios = values.scenarios.split(",").map((s) => s.trim());
  for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario "${s}"`);
  const targetList = values.targets.split(",").map((s) => s.trim());
  for (const t of targetList) if (!TARGETS.includes(t)) throw new Error(`unknown target "${t}"`);
  return {
    targets: targetList,
    durationMs: number("duration", 0.1) * 1000,
    warmupMs: number("warmup", 0) * 1000,
    connections: Math.round(number("connections", 1)),
    scenarios,
    checkPool: values["check-pool"] === undefined ? undefined : Math.round(number("check-pool", 1)),
    maxOps: Math.round(number("max-requests", 1)),
    cpuProf: values["cpu-prof"],
    sequential: values.sequential,
    rows: Math.round(number("rows", 0)),
    seedCache: values["seed-cache"],
    serverEnv: Object.fromEntries(
      values["server-env"].map((pair) => {
        const at = pair.indexOf("=");
        if (at < 1) throw new Error(`--server-env takes KEY=VALUE, not "${pair}"`);
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
    ),
  };
}

let server; // the server measured now (one target after the other)
const launched = new Set(); // every server started, killed on every way out
let workDir;
process.on("exit", () => {
  for (const s of launched) if (s.isRunning()) s.child.kill("SIGKILL");
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.once(signal, () => process.exit(130));

/**
 * How to start each server under test on the database files in `dir`; all hand codes over the same
 * way (a line on a capture FIFO) and get the same numbers and load. The equivalent baseline takes
 * verifyd's log level and limits, `--server-env` included, so the two log and count alike.
 */
function targets(dir, eventSink, apiKey, serverEnv = {}) {
  const verifydEnv = {
    VERIFYD_ENV: "development",
    VERIFYD_HOST: "127.0.0.1",
    VERIFYD_DB: join(dir, "verifyd.db"),
    VERIFYD_SECRET: SECRET,
    VERIFYD_ADMIN_KEY: apiKey,
    VERIFYD_SENDER: "dryrun",
    VERIFYD_EVENTS_URL: eventSink.url,
    VERIFYD_LOG_LEVEL: "warn",
    VERIFYD_LIMIT_STARTS_PER_IP: "100000000/1h",
    ...Object.fromEntries(Object.entries(LIMITS).map(([rule, value]) => [`VERIFYD_LIMIT_${rule}`, value])),
    // Nobody enters most codes: the conversion guard counts and judges every send but must not trip.
    VERIFYD_CONVERSION_MIN_SENDS: "1000000",
    VERIFYD_CONVERSION_PROBATION_SENDS: "1000000",
    ...serverEnv,
  };
  return {
    verifyd: {
      script: ["dist/cli.js", "serve"],
      env: (captureFile) => ({ ...verifydEnv, VERIFYD_DRYRUN_CAPTURE_FILE: captureFile }),
    },
    refusing: {
      script: ["dist/cli.js", "serve"],
      db: join(dir, "verifyd-refusing.db"),
      env: (captureFile) => ({
        ...verifydEnv,
        ...REFUSING_ENV,
        ...serverEnv,
        VERIFYD_DB: join(dir, "verifyd-refusing.db"),
        VERIFYD_DRYRUN_CAPTURE_FILE: captureFile,
      }),
    },
    baseline: {
      script: ["bench/baseline/server.mjs"],
      env: (captureFile) => ({ BASELINE_DB: join(dir, "baseline.db"), CAPTURE_FILE: captureFile }),
    },
    equivalent: {
      script: ["bench/baseline/equivalent.mjs"],
      env: (captureFile) => ({
        EQUIVALENT_DB: join(dir, "equivalent.db"),
        EQUIVALENT_SECRET: SECRET,
        EQUIVALENT_API_KEY: apiKey,
        CAPTURE_FILE: captureFile,
        LOG_LEVEL: verifydEnv.VERIFYD_LOG_LEVEL,
        ...Object.fromEntries(Object.keys(LIMITS).map((rule) => [`LIMIT_${rule}`, verifydEnv[`VERIFYD_LIMIT_${rule}`]])),
      }),
    },
  };
}

async function main() {
  let opts;
  try {
    opts = options();
  } catch (err) {
    console.error(`${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  if (opts.seedCache) SECRET = cachedSecret(opts.seedCache, SECRET);
  const loadBefore = loadavg()[0];
  const pinning = pinningSupport();
  workDir = mkdtempSync(join(tmpdir(), "verifyd-bench-"));
  const profDir = opts.cpuProf ? mkdtempSync(join(tmpdir(), "verifyd-bench-prof-")) : ""; // kept after the run
  const eventSink = await startEventSink();
  const apiKey = `bench-admin-${randomBytes(16).toString("hex")}`;
  const clientPinned = pinning.ok && pinProcess(1);
  console.log(
    `verifyd bench: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}\n` +
      `${opts.connections} connections, warm-up ${opts.warmupMs / 1000} s, measured ${opts.durationMs / 1000} s per scenario\n` +
      `pinning: ${pinning.ok ? `server on CPU 0, load generator ${clientPinned ? "on CPU 1" : "NOT pinned (taskset -p failed)"}` : `none (${pinning.why})`}\n` +
      `load average before the run: ${fixed(loadBefore, 2)}${loadBefore > 0.5 ? " (other work is running: expect noisy numbers)" : ""}\n`,
  );

  // Empty databases first; with --rows, the same scenarios again on seeded ones.
  const datasets = [{ label: "empty", rows: 0 }, ...(opts.rows > 0 ? [{ label: `${opts.rows} rows`, rows: opts.rows }] : [])];
  const runs = [];
  for (const dataset of datasets) {
    const dir = join(workDir, `rows-${dataset.rows}`);
    mkdirSync(dir);
    if (dataset.rows > 0) {
      process.stdout.write(`seeding ${dataset.rows} verifications into each database …\n`);
      const seeded = seedDatabases({ dir, rows: dataset.rows, targets: opts.targets, secret: SECRET, cache: opts.seedCache });
      for (const [name, seconds] of Object.entries(seeded)) console.log(`  ${name}: ${fixed(seconds)} s`);
      dataset.seedSeconds = seeded;
    }
    const all = targets(dir, eventSink, apiKey, opts.serverEnv);
    if (inTurnsMode(opts)) {
      const contextOf = (name) => {
        const profiled = profDir && dataset === datasets.at(-1) ? join(profDir, name) : "";
        if (profiled) mkdirSync(profiled, { recursive: true });
        return { opts, dir, apiKey, pinning, profDir: profiled };
      };
      for (const run of await runTargetsInTurns(opts.targets, all, contextOf)) runs.push({ ...run, dataset: dataset.label });
      continue;
    }
    for (const name of opts.targets) {
      console.log(`— ${name} (${dataset.label}) —`);
      const profiled = profDir && dataset === datasets.at(-1) ? join(profDir, name) : "";
      if (profiled) mkdirSync(profiled);
      const context = { opts, dir, apiKey, pinning, profDir: profiled };
      let refusing = null;
      if (opts.scenarios.includes("refused")) {
        if (name === "verifyd") {
          if (profiled) mkdirSync(`${profiled}-refused`);
          refusing = { target: all.refusing, context: { ...context, profDir: profiled && `${profiled}-refused` } };
        } else console.log(`(${name} skips the refused scenario: only verifyd's refusals are measured)`);
      }
      const run = await runTarget(name, all[name], context, refusing);
      runs.push({ ...run, dataset: dataset.label });
    }
  }
  const events = eventSink.received();
  await eventSink.close();
  for (const run of runs) report(run);
  startupTable(runs);
  for (const dataset of datasets) {
    const same = runs.filter((r) => r.dataset === dataset.label);
    if (same.length >= 2) compare(same, dataset.label, TARGETS);
  }
  if (datasets.length === 2) scaling(runs, datasets);
  for (const run of runs) refusedRatios(run);
  console.log(`event sink: ${events} event webhooks received from verifyd`);
  console.log(`load average after the run: ${fixed(loadavg()[0], 2)} (the bench itself adds about 2)`);
  if (opts.cpuProf) for (const name of opts.targets) printProfile(name, join(profDir, name));
  if (opts.cpuProf && opts.scenarios.includes("refused") && opts.targets.includes("verifyd"))
    printProfile("verifyd (refused starts)", join(profDir, "verifyd-refused"));
}

/** Several targets and no refused scenario (which runs in turns with a second verifyd of its own). */
const inTurnsMode = (opts) => opts.targets.length > 1 && !opts.sequential && !opts.scenarios.includes("refused");

/** Starts a server under test (with `--cpu-prof` into `profDir` when given) and its client. */
async function launch(name, target, { opts, dir, apiKey, pinning, profDir }, setServer = (s) => (server = s)) {
  const codes = captureCodes(join(dir, `${name}.codes`));
  const server = await startServer({
    cwd: ROOT,
    port: await freePort(),
    pin: pinning.ok,
    script: target.script,
    nodeArgs: profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [],
    env: target.env(codes.path),
  });
  setServer(server);
  launched.add(server);
  await sleep(500); // let start-up garbage settle before reading the idle footprint
  const idle = memoryOf(server.pid);
  const client = createClient({ port: server.port, connections: opts.connections, apiKey });
  return { server, codes, idle, client };
}

/**
 * Closed-loop runs against the current server: `loop(op)` runs one (warm-up, then measured), and
 * `measure(scenario, requestsPerOp, run)` records its result with the server's CPU and peak RSS.
 */
function measurer(name, opts, results) {
  let cpuAtMeasureStart = Number.NaN;
  const loop = (op) =>
    closedLoop({
      connections: opts.connections,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      maxOps: opts.maxOps,
      op,
      onMeasureStart: () => {
        cpuAtMeasureStart = cpuTimeOf(server.pid);
      },
    });
  const measure = async (scenario, requestsPerOp, run) => {
    process.stdout.write(`running ${scenario} …\n`);
    const peakIsPerScenario = resetPeak(server.pid);
    const r = await run();
    const cpuMs = cpuTimeOf(server.pid) - cpuAtMeasureStart;
    const mem = memoryOf(server.pid);
    results.push({
      name: scenario,
      requestsPerOp,
      peak: mem?.peak,
      peakIsPerScenario,
      cpuShare: cpuMs / r.elapsedMs,
      cpuPerOp: cpuMs / r.ops,
      ...r,
    });
    if (!server.isRunning()) throw new Error(`${name} died during ${scenario}\n${server.output().stderr}`);
  };
  return { loop, measure };
}

async function runTarget(name, target, context, refusing) {
  const { opts } = context;
  const { codes, idle, client } = await launch(name, target, context);
  const work = workloads({ client, codes, nextPhone: phoneNumbers() });
  const results = [];
  const { loop, measure } = measurer(name, opts, results);

  // Each code is single use, so check-only consumes a pool of pending verifications: the start-only
  // scenario's (their codes wait in the capture), topped up by unmeasured starts.
  const pool = [];
  if (refusing) {
    // Accepted starts and the refusals in turns, so both meet the same moments of a shared machine.
    const refused = await refusedPhases(refusing.target, refusing.context);
    const accepted = { name: "start-only", pid: server.pid, op: work.start };
    results.push(
      ...(await inTurns([accepted, ...refused.phases], opts, "measured in turns with the other phases of the refused scenario")),
    );
    await refused.stop();
    pool.push(...codes.drain());
  } else if (opts.scenarios.includes("start")) {
    await measure("start-only", 1, () => loop(work.start));
    pool.push(...codes.drain());
  }

  if (opts.scenarios.includes("check")) {
    const startRate = results.find((r) => r.name === "start-only")?.opsPerSec;
    const prepared = await preparePool(work, pool, startRate, opts);
    let next = 0;
    await measure("check-only", 1, async () => {
      const r = await loop(async () => {
        const v = pool[next++];
        return v ? work.check(v.id, v.code) : null;
      });
      return { ...r, note: prepared.note(next) };
    });
  }

  if (opts.scenarios.includes("flow")) await measure("full flow", 2, () => loop(work.flow));
  if (opts.scenarios.includes("mixed")) await measure("mixed", 1, () => loop(work.mixed()));

  client.close();
  const startupMs = server.startupMs;
  await stopServer(server);
  const captured = codes.stats();
  codes.close();
  return { name, startupMs, idle, results, captured };
}

/**
 * Tops `pool` (pending verifications with their codes, each checked once by check-only) up with
 * unmeasured starts: to `--check-pool`, else to enough for CHECKS_PER_START × the start rate over
 * the warm-up and the measured time. `note(used)` describes the pool for the report.
 */
async function preparePool(work, pool, startRate, opts) {
  const prepBegin = performance.now();
  const reused = pool.length;
  let inFlight = 0;
  const target = () => {
    if (opts.checkPool) return opts.checkPool;
    const rate = startRate ?? (pool.length - reused) / Math.max(1, (performance.now() - prepBegin) / 1000);
    return Math.min(opts.maxOps, Math.max(5000, Math.ceil((CHECKS_PER_START * rate * (opts.warmupMs + opts.durationMs)) / 1000)));
  };
  process.stdout.write(`preparing verifications for check-only (${reused} left by start-only) …\n`);
  const prep = await closedLoop({
    connections: opts.connections,
    warmupMs: 0,
    durationMs: 600_000,
    maxOps: opts.maxOps,
    op: async () => {
      if (pool.length + inFlight >= target()) return null;
      inFlight++;
      const r = await work.prepared().finally(() => inFlight--);
      if (r.ok) pool.push({ id: r.id, code: r.code });
      return r;
    },
  });
  if (prep.errors) throw new Error(`${prep.errors} starts failed while preparing the pool: ${JSON.stringify(prep.reasons)}`);
  const prepSeconds = (performance.now() - prepBegin) / 1000;
  return {
    note: (used) =>
      `${Math.min(used, pool.length)} of a pool of ${pool.length} checked (${pool.length - reused} prepared in ${fixed(prepSeconds)} s)`,
  };
}

/**
 * Every target at once, each scenario measured in turns across them (see lib/turns.mjs): the ratios
 * between targets then compare the same moments of a shared machine. Each target keeps its own
 * server, client and pool; only one is under load at a time.
 */
async function runTargetsInTurns(names, all, contextOf) {
  const { opts } = contextOf(names[0]);
  const targets = [];
  for (const name of names) {
    console.log(`— starting ${name} —`);
    const up = await launch(name, all[name], contextOf(name), () => {});
    targets.push({
      name,
      ...up,
      work: workloads({ client: up.client, codes: up.codes, nextPhone: phoneNumbers() }),
      results: [],
      pool: [],
    });
  }
  const note = `measured in turns with ${names.join(", ")}`;
  const measure = async (scenario, requestsPerOp, opOf) => {
    const phases = targets.map((t) => ({
      name: scenario,
      label: `${scenario} (${t.name})`,
      pid: t.server.pid,
      requestsPerOp,
      op: opOf(t),
    }));
    for (const t of targets) t.peakIsPerScenario = resetPeak(t.server.pid);
    const results = await inTurns(phases, opts, note);
    for (const [i, t] of targets.entries()) {
      if (!t.server.isRunning()) throw new Error(`${t.name} died during ${scenario}\n${t.server.output().stderr}`);
      t.results.push({ ...results[i], peakIsPerScenario: t.peakIsPerScenario });
    }
  };
  if (opts.scenarios.includes("start")) {
    await measure("start-only", 1, (t) => t.work.start);
    for (const t of targets) t.pool.push(...t.codes.drain());
  }
  if (opts.scenarios.includes("check")) {
    for (const t of targets) {
      const startRate = t.results.find((r) => r.name === "start-only")?.opsPerSec;
      t.prepared = await preparePool(t.work, t.pool, startRate, opts);
      t.next = 0;
    }
    await measure("check-only", 1, (t) => async () => {
      const v = t.pool[t.next++];
      return v ? t.work.check(v.id, v.code) : null;
    });
    for (const t of targets) {
      const r = t.results.at(-1);
      r.note = `${r.note}; ${t.prepared.note(t.next)}`;
    }
  }
  if (opts.scenarios.includes("flow")) await measure("full flow", 2, (t) => t.work.flow);
  if (opts.scenarios.includes("mixed")) await measure("mixed", 1, (t) => t.work.mixed());
  const runs = [];
  for (const t of targets) {
    t.client.close();
    await stopServer(t.server);
    const captured = t.codes.stats();
    t.codes.close();
    runs.push({ name: t.name, startupMs: t.server.startupMs, idle: t.idle, results: t.results, captured });
  }
  return runs;
}

/**
 * The refused scenario's second verifyd (REFUSING_ENV, a block seeded on BLOCKED_COUNTRY) and its
 * phases: starts to new Indian numbers refused by the country send velocity (`country_velocity`),
 * starts to new numbers of the blocked country refused by the conversion guard's block
 * (`unproven_country`), and the floor: the same request with an unknown API key.
 */
async function refusedPhases(target, context) {
  const { opts } = context;
  seedCountryBlock(target.db, { country: BLOCKED_COUNTRY });
  const refusing = await launch("verifyd-refusing", target, context, () => {});
  const { codes, client } = refusing;
  const india = phoneNumbers();
  const work = workloads({ client, codes, nextPhone: india });
  // The one send the country velocity lets through this hour; every later start to India is refused.
  const first = await work.start();
  if (!first.ok) throw new Error(`the refusing server's first start failed: ${first.why}`);
  // About the floor of any answer: a start's request with an unknown key, answered 401 by the API
  // key middleware (Node's HTTP, admission control, hono and the middleware in front of every route).
  const stranger = createClient({ port: refusing.server.port, connections: opts.connections, apiKey: "not-a-key" });
  const floor = workloads({ client: stranger, codes, nextPhone: india });
  const { pid } = refusing.server;
  return {
    phases: [
      { name: "refused: velocity", pid, op: work.refused(india, "country_velocity") },
      { name: "refused: block", pid, op: work.refused(blockedNumbers(), "unproven_country") },
      { name: "floor: 401", pid, op: floor.unauthorized },
    ],
    async stop() {
      stranger.close();
      client.close();
      await stopServer(refusing.server);
      codes.close();
    },
  };
}

function printProfile(name, dir) {
  console.log(`\n${profileReport(name, dir, ROOT).join("\n")}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench failed: ${err.stack ?? err}`);
    process.exit(1);
  },
);
