// verifyd in process, without sockets: `node bench/in-process.mjs [--ops 3000] [--rounds 3] [--what start|check|refused|blocked|events]`
// (after `npm run build`). Builds the runtime from dist/ with the bench's production-like settings
// (bench/lib/verifyd-env.mjs; event webhooks off unless --events <url>) on a fresh SQLite file, drives
// app.fetch with 32 concurrent callers and prints, per round, the process's CPU per operation (worker
// threads included), the SQLite commits per operation with their wall time per operation and the slowest
// one, and the latency's p50, p99 and maximum (ms). `refused`: starts refused by the per-country send
// velocity (set to 1/1h), which count the prefix and the country first: the dearest refusal, to set
// against `start`; `blocked`: starts to a country the conversion guard blocked (seeded), refused before
// any count. `events`: each round makes --ops starts with event webhooks on, then drains their events
// through the events worker to a receiver in a child process (its CPU not counted) and prints the
// worker's CPU per event sent.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { BLOCKED_COUNTRY, blockedNumbers } from "./lib/scenarios.mjs";
import { seedCountryBlock } from "./lib/seeding.mjs";
import { pinningSupport } from "./lib/server.mjs";
import { verifydEnv } from "./lib/verifyd-env.mjs";

const { values } = parseArgs({
  options: {
    ops: { type: "string", default: "3000" },
    rounds: { type: "string", default: "3" },
    what: { type: "string", default: "start" },
    events: { type: "string", default: "" },
  },
});
const OPS = Number(values.ops);
const CONCURRENCY = 32;
const what = values.what;
if (!["start", "check", "refused", "blocked", "events"].includes(what))
  throw new Error("--what is start, check, refused, blocked or events");

// COMMITs counted and timed (wall time on the event loop, with any checkpoint SQLite runs inline).
let commits = 0;
let commitMs = 0;
let slowestCommitMs = 0;
const exec = Database.prototype.exec;
Database.prototype.exec = function (source) {
  if (source !== "COMMIT") return exec.call(this, source);
  commits++;
  const t = performance.now();
  try {
    return exec.call(this, source);
  } finally {
    const ms = performance.now() - t;
    commitMs += ms;
    slowestCommitMs = Math.max(slowestCommitMs, ms);
  }
};

let stopReceiver = () => {};
/** A receiver answering 204 to every webhook, in its own process; resolves with its URL. */
function startReceiver() {
  const source = `const s = require("node:http").createServer((q, r) => { q.resume(); q.on("end", () => { r.statusCode = 204; r.end(); }); });
    s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  // On CPU 1 when it can be pinned, as the bench's sink runs beside the load generator: run this
  // script on CPU 0 (`taskset -c 0 node bench/in-process.mjs --what events`) to keep them apart.
  const command = [process.execPath, "-e", source];
  const [file, ...args] = pinningSupport().ok ? ["taskset", "-c", "1", ...command] : command;
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "inherit"] });
  stopReceiver = () => child.kill();
  let out = "";
  return new Promise((resolve) =>
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.endsWith("\n")) resolve(`http://127.0.0.1:${out.trim()}/events`);
    }),
  );
}

const root = fileURLToPath(new URL("..", import.meta.url));
const { buildRuntime } = await import(join(root, "dist/compose.js"));
const { loadConfig } = await import(join(root, "dist/config/env.js"));
const dir = mkdtempSync(join(tmpdir(), "verifyd-in-process-"));
const captureFile = join(dir, "codes.txt");
const apiKey = "bench-admin-0123456789abcdef0123456789abcdef";
const env = verifydEnv({
  dir,
  secret: "a secret only good for measuring, long enough",
  apiKey,
  captureFile,
  eventsUrl: what === "events" ? await startReceiver() : values.events,
  extra: what === "refused" ? { VERIFYD_LIMIT_SENDS_PER_COUNTRY: "1/1h" } : {},
});
if (!values.events && what !== "events") delete env.VERIFYD_EVENTS_URL;
if (what === "blocked") seedCountryBlock(env.VERIFYD_DB, { country: BLOCKED_COUNTRY });
const runtime = await buildRuntime(loadConfig(env));
// As the server does: the running outbox takes fresh events straight from the starts (at most 1 024
// wait at once, so rounds of up to 512 starts hand off every event); its passes are the ones below.
if (what === "events") runtime.outbox.start(3_600_000);
const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
let next = 0;
const nextPhone = () => `+9198${String(next++).padStart(8, "0")}`;
const nextBlocked = blockedNumbers();
const post = (path, body) =>
  runtime.app.fetch(new Request(`http://verifyd${path}`, { method: "POST", headers, body: JSON.stringify(body) }));

async function start(expected = 201, to = nextPhone()) {
  const res = await post("/v1/verifications", { to });
  if (res.status !== expected) throw new Error(`start answered ${res.status}: ${await res.text()}`);
  await res.json();
}

/** Runs `op` `total` times over 32 callers; CPU and commits per operation, and latency percentiles (ms). */
async function measure(total, op) {
  let left = total;
  const latencies = [];
  const cpu = process.cpuUsage();
  const before = commits;
  const commitMsBefore = commitMs;
  slowestCommitMs = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) {
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  const at = (q) => +latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
  return {
    cpuMsPerOp: +((used.user + used.system) / 1000 / total).toFixed(3),
    commitsPerOp: +((commits - before) / total).toFixed(3),
    commitMsPerOp: +((commitMs - commitMsBefore) / total).toFixed(3),
    slowestCommitMs: +slowestCommitMs.toFixed(1),
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
  };
}

/** Codes the dryrun channel wrote (`<id> <code>` lines) since `from` lines. */
const capturedSince = (from) =>
  readFileSync(captureFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .slice(from)
    .map((line) => line.split(" "));

/** Runs the outbox's passes until no event is pending; the worker's CPU per event sent. */
async function drainEvents() {
  const db = new Database(env.VERIFYD_DB, { readonly: true });
  const pending = db.prepare("select count(*) as n from events where status = 'pending'").pluck();
  const events = pending.get();
  const cpu = process.cpuUsage();
  let passes = 0;
  while (pending.get() > 0 && passes < 100) {
    await runtime.outbox.runOnce();
    passes++;
  }
  const used = process.cpuUsage(cpu);
  const left = pending.get();
  db.close();
  return { events, left, passes, cpuUsPerEvent: +((used.user + used.system) / events).toFixed(1) };
}

if (what === "refused") await start(); // the one send the country allows; every later start is refused
const op = { refused: () => start(403), blocked: () => start(403, nextBlocked()) }[what] ?? (() => start());
await measure(1000, op); // warm-up
if (what === "events") await drainEvents(); // the warm-up's events, unmeasured
for (let round = 1; round <= Number(values.rounds); round++) {
  if (what === "events") {
    console.log("start", round, JSON.stringify(await measure(OPS, op)));
    console.log("events", round, JSON.stringify(await drainEvents()));
    continue;
  }
  if (what !== "check") {
    console.log(what, round, JSON.stringify(await measure(OPS, op)));
    continue;
  }
  const from = capturedSince(0).length;
  for (let i = 0; i < OPS; i++) await start();
  await new Promise((resolve) => setTimeout(resolve, 200)); // the capture file's last lines
  const pairs = capturedSince(from);
  let i = 0;
  const result = await measure(pairs.length, async () => {
    const [id, code] = pairs[i++];
    const res = await post(`/v1/verifications/${id}/check`, { code });
    const body = await res.json();
    if (res.status !== 200 || body.valid !== true) throw new Error(`check answered ${res.status}: ${JSON.stringify(body)}`);
  });
  console.log(what, round, JSON.stringify(result));
}
await runtime.close();
stopReceiver();
rmSync(dir, { recursive: true, force: true });
