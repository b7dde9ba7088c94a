// Overload benchmark of the built server: `npm run bench:overload -- [--multiples 1,4,10] …` (see --help).
// Measures the sustainable start rate (closed loop), then offers starts open loop at multiples of it,
// each caller giving up after a timeout, then measures the rate again on the warm server (goodput is
// judged against the higher of the two), and prints how verifyd answered: how many within 1 s, the
// status mix, goodput, whether anything was written or sent for callers that had gone, the health
// probes' latency and the peak RSS. Same server set-up as `npm run bench` (bench/lib/verifyd-env.mjs).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { captureCodes } from "./lib/capture.mjs";
import { closedLoop, createClient, percentile } from "./lib/load.mjs";
import { createOpenClient, openLoop } from "./lib/open-loop.mjs";
import { startProber } from "./lib/prober.mjs";
import { profileReport } from "./lib/profile.mjs";
import { phoneNumbers, workloads } from "./lib/scenarios.mjs";
import { cpuTimeOf, freePort, memoryOf, pinningSupport, pinProcess, resetPeak, startServer, stopServer } from "./lib/server.mjs";
import { startEventSink } from "./lib/sink.mjs";
import { parseServerEnv, verifydEnv } from "./lib/verifyd-env.mjs";

const HELP = `Usage: npm run bench:overload -- [options]

  --multiples <list>    offered load as multiples of the sustainable start rate (default 1,4,10)
  --duration <s>        open-loop time per multiple (default 20)
  --timeout <s>         how long a caller waits for an answer before closing its connection (default 10)
  --rate <n>            the sustainable start rate, instead of measuring it
  --measure <s>         closed-loop time that measures the sustainable rate, after a warm-up of 10 s on the
                        fresh server and 2 s on the warm one (default 5);
                        measured before the loads (they are multiples of it) and again after them on the
                        warm server, and goodput is judged against the higher of the two
  --connections <n>     closed-loop clients for that measurement (default 32)
  --sockets <n>         the open-loop callers' keep-alive connections, opened before the load (default 512)
  --server-env <K=V>    extra environment for verifyd, repeatable (e.g. VERIFYD_MAX_IN_FLIGHT=0 to
                        measure without admission control)
  --floor <s>           then offer each load for this long to a bare node:http server that refuses every
                        start (bench/baseline/refuser.mjs): the floor of what refusing costs (default 5; 0: skip)
  --cpu-prof            profile the server (node --cpu-prof) and print its top functions by self time`;

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** What a request must get within 1 s: a start, or a refusal the caller can act on. */
const ANSWER_WITHIN_MS = 1000;
const GOALS = { answeredWithin1s: 0.99, goodput: 0.9, probeP99Ms: 50 };

function options() {
  const { values } = parseArgs({
    options: {
      multiples: { type: "string", default: "1,4,10" },
      duration: { type: "string", default: "20" },
      timeout: { type: "string", default: "10" },
      rate: { type: "string" },
      measure: { type: "string", default: "5" },
      connections: { type: "string", default: "32" },
      sockets: { type: "string", default: "512" },
      "server-env": { type: "string", multiple: true, default: [] },
      floor: { type: "string", default: "5" },
      "cpu-prof": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const number = (name, min, value = values[name]) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  return {
    multiples: values.multiples.split(",").map((m) => number("multiples", 0.01, m.trim())),
    durationMs: number("duration", 1) * 1000,
    timeoutMs: number("timeout", 0.1) * 1000,
    rate: values.rate === undefined ? undefined : number("rate", 1),
    measureMs: number("measure", 1) * 1000,
    connections: Math.round(number("connections", 1)),
    sockets: Math.round(number("sockets", 1)),
    serverEnv: parseServerEnv(values["server-env"]),
    floorMs: Math.max(0, Number(values.floor)) * 1000,
    cpuProf: values["cpu-prof"],
  };
}

const fixed = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const pct = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "n/a");
const mb = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(0)} MB` : "n/a");

let server;
let workDir;
process.on("exit", () => {
  if (server?.isRunning()) server.child.kill("SIGKILL");
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.once(signal, () => process.exit(130));

/** The sum of a counter's series in the server's /metrics (0 when absent). */
function counterTotal(port, name) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/metrics", agent: false, timeout: 5000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => {
        let sum = 0;
        for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) sum += Number(m[1]);
        resolve(sum);
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(Number.NaN));
  });
}

/** A refusal a caller can act on: 503 `overloaded` as problem+json with Retry-After. */
const isProperRefusal = (r) =>
  r.status === 503 &&
  /^application\/problem\+json/.test(r.headers["content-type"] ?? "") &&
  r.headers["retry-after"] !== undefined &&
  typeof r.json?.code === "string";

/**
 * What the report needs of an answer, kept in its place: a 10× phase holds 130 000–290 000 of them,
 * and the load generator's lateness counts as the server's. Against the bare refuser at 12 000
 * requests/s, its garbage collection took 16–17 % of the time with every answer's headers and body
 * kept, 11–15 % with these.
 */
const digest = (r) => ({
  status: r.status,
  id: r.status === 201 && typeof r.json?.id === "string" ? r.json.id : undefined,
  proper: isProperRefusal(r),
  why: r.why,
  writtenAt: r.writtenAt,
});

/** Sorts each request's outcome (`digest`) into the status mix and collects the ids of the starts answered 201. */
function classify(records) {
  const mix = { ok: 0, r429: 0, r503: 0, bad503: 0, other: 0, none: 0 };
  const answeredIds = new Set();
  const whyNone = new Map();
  let within = 0;
  let okWithin = 0;
  // Where an answer's time went: waiting in the callers' pool for a connection, then on it.
  const waits = [];
  const onConnection = [];
  for (const { at, ms, result } of records) {
    const r = result;
    if (r.status !== 0 && Number.isFinite(r.writtenAt)) {
      waits.push(r.writtenAt - at);
      onConnection.push(at + ms - r.writtenAt);
    }
    if (r.status === 201 && r.id !== undefined) {
      mix.ok++;
      answeredIds.add(r.id);
      if (ms <= ANSWER_WITHIN_MS) {
        within++;
        okWithin++;
      }
    } else if (r.status === 503) {
      if (r.proper) {
        mix.r503++;
        if (ms <= ANSWER_WITHIN_MS) within++;
      } else mix.bad503++;
    } else if (r.status === 429) mix.r429++;
    else if (r.status === 0) {
      mix.none++;
      whyNone.set(r.why, (whyNone.get(r.why) ?? 0) + 1);
    } else mix.other++;
  }
  waits.sort((a, b) => a - b);
  onConnection.sort((a, b) => a - b);
  const split = {
    waitP50: percentile(waits, 0.5),
    waitP99: percentile(waits, 0.99),
    onConnectionP50: percentile(onConnection, 0.5),
    onConnectionP99: percentile(onConnection, 0.99),
  };
  return { mix, answeredIds, within, okWithin, whyNone, split };
}

/**
 * The codes sent for callers that had gone, split by when the caller left (`leftAt`, by number),
 * against when its verification was written (`created_at`, the server's clock, before the commit):
 * `before` is a send whose caller had closed its connection before its start was even written (the
 * guarantee is that none is sent), `after` one whose caller left while it was being committed and
 * answered, `unknown` one whose caller got no answer without giving up (a failed connection).
 * `lateMs`: how long after its caller left the latest of the `before` ones was written.
 */
function departedSends(dbPath, sent, leftAtByNumber) {
  const counts = { before: 0, after: 0, unknown: 0, lateMs: 0 };
  if (sent.length === 0) return counts;
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const createdAt = db.prepare("select created_at from verifications where id = ?").pluck();
    for (const { id, to } of sent) {
      const leftAt = to === undefined ? undefined : leftAtByNumber.get(to);
      const written = createdAt.get(id);
      if (leftAt === undefined || written === undefined) counts.unknown++;
      else if (leftAt < written) {
        counts.before++;
        counts.lateMs = Math.max(counts.lateMs, written - leftAt);
      } else counts.after++;
    }
    return counts;
  } finally {
    db.close();
  }
}

/** Verifications written since `sinceMs` whose start was not answered 201, by status. */
function writtenForDeparted(dbPath, sinceMs, answeredIds) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const byStatus = new Map();
    for (const row of db.prepare("select id, status from verifications where created_at >= ?").iterate(sinceMs)) {
      if (answeredIds.has(row.id)) continue;
      byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + 1);
    }
    return byStatus;
  } finally {
    db.close();
  }
}

async function main() {
  const opts = options();
  const loadBefore = loadavg()[0];
  const pinning = pinningSupport();
  workDir = mkdtempSync(join(tmpdir(), "verifyd-overload-"));
  const eventSink = await startEventSink();
  const apiKey = `bench-admin-${randomBytes(16).toString("hex")}`;
  const clientPinned = pinning.ok && pinProcess(1);
  const codes = captureCodes(join(workDir, "verifyd.codes"));
  const profDir = opts.cpuProf ? join(workDir, "profile") : null;
  // Probes on the API's port and on the probe port (its own thread), unless the run turns that off
  // (`--server-env VERIFYD_PROBE_PORT=`).
  const probePort = "VERIFYD_PROBE_PORT" in opts.serverEnv ? Number(opts.serverEnv.VERIFYD_PROBE_PORT) || null : await freePort();
  server = await startServer({
    cwd: ROOT,
    port: await freePort(),
    pin: pinning.ok,
    nodeArgs: profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [],
    env: verifydEnv({
      dir: workDir,
      secret: randomBytes(48).toString("base64"),
      apiKey,
      captureFile: codes.path,
      eventsUrl: eventSink.url,
      extra: { ...(probePort ? { VERIFYD_PROBE_PORT: String(probePort) } : {}), ...opts.serverEnv },
    }),
  });
  console.log(
    `verifyd overload bench: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}\n` +
      `pinning: ${pinning.ok ? `server on CPU 0, load generator ${clientPinned ? "on CPU 1" : "NOT pinned"}` : `none (${pinning.why})`}\n` +
      `load average before the run: ${fixed(loadBefore, 2)}${loadBefore > 0.5 ? " (other work is running: expect noisy numbers)" : ""}\n` +
      `server environment overrides: ${Object.keys(opts.serverEnv).length ? JSON.stringify(opts.serverEnv) : "none"}\n`,
  );
  const nextPhone = phoneNumbers();

  // Every start answered 201 in the run, closed loops included: a code sent for any other was sent
  // for a caller that had gone. A send can land in a later phase than its start (the outbox's retry
  // of a send that outlived the dispatch budget), so a phase's sends are judged against them all.
  const answeredEver = new Set();
  // When each open-loop caller that gave up closed its connection (wall clock), by its number.
  const leftAtByNumber = new Map();
  /**
   * The closed-loop start rate now: `opts.connections` clients, after `warmupMs`. A fresh server
   * needs the longer one: its first seconds run slower (the JIT, and the WAL file growing to its
   * size before checkpoints start reusing it): with 2 s, the first measurement came out at
   * 626–764 starts/s in three whole runs of five, where the same servers, warm, served 1 028–1 263.
   */
  const closedLoopRate = async (when, warmupMs) => {
    process.stdout.write(`measuring the sustainable start rate ${when} (closed loop, ${opts.connections} clients) …\n`);
    const client = createClient({ port: server.port, connections: opts.connections, apiKey });
    const work = workloads({ client, codes, nextPhone });
    const r = await closedLoop({
      connections: opts.connections,
      warmupMs,
      durationMs: opts.measureMs,
      maxOps: Number.MAX_SAFE_INTEGER,
      op: async () => {
        const started = await work.start();
        if (started.ok) answeredEver.add(started.id);
        return started;
      },
    });
    client.close();
    if (r.errors) throw new Error(`${r.errors} starts failed in the closed loop: ${JSON.stringify(r.reasons)}`);
    console.log(`sustainable ${when}: ${fixed(r.opsPerSec, 0)} starts/s (p50 ${fixed(r.p50)} ms, p99 ${fixed(r.p99)} ms)\n`);
    codes.drain();
    await sleep(2000);
    return r.opsPerSec;
  };
  const offeredBase = opts.rate ?? (await closedLoopRate("before", 10_000));

  const phases = [];
  const client = createOpenClient({ port: server.port, sockets: opts.sockets, apiKey });
  for (const multiple of opts.multiples) {
    const rate = multiple * offeredBase;
    process.stdout.write(`offering ${multiple}× = ${fixed(rate, 0)} starts/s for ${opts.durationMs / 1000} s …\n`);
    await client.warm();
    const sinceMs = Date.now();
    const shedBefore = await counterTotal(server.port, "verifyd_requests_shed_total");
    const peakReset = resetPeak(server.pid);
    // Every 20 ms on a kept-alive connection; every 500 ms on a new one, as an orchestrator probes.
    const probesOn = (port) =>
      ["/healthz", "/readyz"].flatMap((path) => [
        { port, path, everyMs: 20, fresh: false },
        { port, path, everyMs: 500, fresh: true },
      ]);
    const prober = startProber([...probesOn(server.port), ...(probePort ? probesOn(probePort) : [])]);
    await prober.started;
    const {
      result: run,
      cpuShare,
      generatorShare,
    } = await withCpuShare(server.pid, () =>
      openLoop({
        rate,
        durationMs: opts.durationMs,
        send: (at) => {
          const to = nextPhone();
          return client.post("/v1/verifications", { to }, at + opts.timeoutMs).then((r) => {
            if (r.leftAt !== undefined) leftAtByNumber.set(to, r.leftAt);
            return digest(r);
          });
        },
      }),
    );
    const [healthz, healthzFresh, readyz, readyzFresh, ...onProbePort] = await prober.stop();
    const probePortResults = onProbePort.length
      ? { healthz: onProbePort[0], healthzFresh: onProbePort[1], readyz: onProbePort[2], readyzFresh: onProbePort[3] }
      : null;
    const peak = memoryOf(server.pid)?.peak;
    await sleep(1000); // sends made for callers that left reach the capture too
    const outcome = classify(run.records);
    const sent = codes.drain();
    for (const id of outcome.answeredIds) answeredEver.add(id);
    const sentForDeparted = departedSends(
      join(workDir, "verifyd.db"),
      sent.filter(({ id }) => !answeredEver.has(id)),
      leftAtByNumber,
    );
    const written = writtenForDeparted(join(workDir, "verifyd.db"), sinceMs, outcome.answeredIds);
    const shed = (await counterTotal(server.port, "verifyd_requests_shed_total")) - shedBefore;
    phases.push({
      multiple,
      rate,
      run,
      outcome,
      sentForDeparted,
      written,
      healthz,
      readyz,
      healthzFresh,
      readyzFresh,
      probePort: probePortResults,
      cpuShare,
      generatorShare,
      peak,
      peakReset,
      shed,
    });
    if (!server.isRunning()) throw new Error(`verifyd died\n${server.output().stderr}`);
    await sleep(2000); // let the outbox and event backlog drain before the next phase
  }

  client.close();
  // Measured again on the warm server: a first measurement on a cold server, or in a slow moment of
  // a shared machine, can come out low, and goodput judged against it would look better than it is.
  // Goodput is judged against the higher of the two; the loads offered stay multiples of the first.
  const sustainable = opts.rate ?? Math.max(offeredBase, await closedLoopRate("after", 2000));
  await stopServer(server);
  codes.close();
  await eventSink.close();
  const floor = opts.floorMs > 0 ? await measureFloor(phases, opts, pinning) : [];
  report(phases, sustainable, opts);
  reportFloor(floor, phases);
  if (profDir) console.log(`\n${profileReport("verifyd", profDir, ROOT).join("\n")}\n`);
  console.log(`load average after the run: ${fixed(loadavg()[0], 2)} (the bench itself adds about 2)`);
}

/**
 * Runs `load` and measures the process's CPU share (1 = one core) over its whole length: the last
 * answers, or the callers' timeouts, come after the schedule ends.
 */
async function withCpuShare(pid, load) {
  const cpuBefore = cpuTimeOf(pid);
  const ownBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const result = await load();
  const wall = performance.now() - wallBefore;
  const own = process.cpuUsage(ownBefore);
  return { result, cpuShare: (cpuTimeOf(pid) - cpuBefore) / wall, generatorShare: (own.user + own.system) / 1000 / wall };
}

/**
 * The same offered loads against bench/baseline/refuser.mjs, a bare node:http server that refuses
 * every start: the CPU share Node's HTTP handling alone takes to answer that many requests.
 */
async function measureFloor(phases, opts, pinning) {
  const refuser = await startServer({
    cwd: ROOT,
    port: await freePort(),
    pin: pinning.ok,
    script: ["bench/baseline/refuser.mjs"],
    env: {},
  });
  const client = createOpenClient({ port: refuser.port, sockets: opts.sockets, apiKey: "none" });
  const results = [];
  try {
    for (const { multiple, rate } of phases) {
      process.stdout.write(`floor: the same ${multiple}× against a server that only refuses, ${opts.floorMs / 1000} s …\n`);
      await client.warm();
      const { result: run, cpuShare } = await withCpuShare(refuser.pid, () =>
        openLoop({
          rate,
          durationMs: opts.floorMs,
          send: (at) => client.post("/v1/verifications", { to: "+447700900000" }, at + opts.timeoutMs).then(digest),
        }),
      );
      const within = run.records.filter((r) => r.result.status === 503 && r.ms <= ANSWER_WITHIN_MS).length;
      results.push({ multiple, rate, cpuShare, within: within / run.records.length });
    }
  } finally {
    client.close();
    await stopServer(refuser);
  }
  return results;
}

function reportFloor(floor, phases) {
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

function report(phases, sustainable, opts) {
  const seconds = opts.durationMs / 1000;
  console.log(
    `\nsustainable start rate: ${fixed(sustainable, 0)}/s${opts.rate ? "" : " (the higher of the closed loops before and after)"}; open loop ${seconds} s per multiple; callers give up after ${opts.timeoutMs / 1000} s\n`,
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
  console.log("pool wait: from a request's scheduled time until one of the callers' connections took it (all busy: it waits).");
  console.log("  on conn.: from then until its answer was read, the server's time and the generator's lateness in reading it.");
  console.log("gen. CPU: the load generator's own CPU share (its core is shared with the probes' process); near 100 %, its");
  console.log("  lateness in reading answers counts as the server's.");
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

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`overload bench failed: ${err.stack ?? err}`);
    process.exit(1);
  },
);
