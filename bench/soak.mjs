// Soak test of the built server: `npm run test:soak -- [--minutes 10] [--rate 300]`.
// Open-loop mixed load (70% starts, 25% correct checks, 5% wrong codes) at a fixed moderate rate
// against `node dist/cli.js serve` on loopback, configured as the bench's (dryrun channel, every
// limit, outbox and events on). Every 30 s it prints a row; at the end, whether memory and p99 stayed flat.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { captureCodes } from "./lib/capture.mjs";
import { createClient, percentile } from "./lib/load.mjs";
import { phoneNumbers, workloads } from "./lib/scenarios.mjs";
import { freePort, memoryOf, startServer, stopServer } from "./lib/server.mjs";
import { startEventSink } from "./lib/sink.mjs";

const HELP = `Usage: npm run test:soak -- [options]

  --minutes <m>      how long to run (default 10)
  --rate <n>         requests per second, sent on schedule whatever the answers (default 300)
  --interval <s>     seconds per printed row (default 30)
  --max-in-flight <n> requests outstanding before new ones are dropped and counted as errors (default 2000)`;

/** Drift allowed between the first and the last third before the verdict says "growing". */
const FLAT = { rss: 1.1, p99: 1.5 };
const ROOT = fileURLToPath(new URL("..", import.meta.url));

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "300" },
    interval: { type: "string", default: "30" },
    "max-in-flight": { type: "string", default: "2000" },
    help: { type: "boolean", short: "h", default: false },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const intervalMs = Number(values.interval) * 1000;
const maxInFlight = Number(values["max-in-flight"]);
if (values.help || !(minutes > 0) || !(rate > 0) || !(intervalMs >= 1000) || !(maxInFlight >= 1)) {
  console.log(HELP);
  process.exit(values.help ? 0 : 2);
}

const mb = (bytes) => (Number.isFinite(bytes) ? (bytes / 1048576).toFixed(1) : "n/a");
const fixed = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
const workDir = mkdtempSync(join(tmpdir(), "verifyd-soak-"));
let server;
process.on("exit", () => {
  if (server?.isRunning()) server.child.kill("SIGKILL");
  rmSync(workDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.once(signal, () => process.exit(130));

/** `nodejs_heap_size_used_bytes` from the server's /metrics (prom-client's process metrics). */
function heapUsed(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/metrics", agent: false, timeout: 2000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve(Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? Number.NaN)));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(Number.NaN));
  });
}

const fileSize = (path) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

async function main() {
  const db = join(workDir, "verifyd.db");
  const eventSink = await startEventSink();
  const codes = captureCodes(join(workDir, "codes"));
  const apiKey = `soak-admin-${randomBytes(16).toString("hex")}`;
  server = await startServer({
    cwd: ROOT,
    port: await freePort(),
    env: {
      VERIFYD_ENV: "development",
      VERIFYD_HOST: "127.0.0.1",
      VERIFYD_DB: db,
      VERIFYD_SECRET: randomBytes(48).toString("base64"),
      VERIFYD_ADMIN_KEY: apiKey,
      VERIFYD_SENDER: "dryrun",
      VERIFYD_DRYRUN_CAPTURE_FILE: codes.path,
      VERIFYD_EVENTS_URL: eventSink.url,
      VERIFYD_LOG_LEVEL: "warn",
      // Every limit on, sized so the synthetic traffic (one API key, one number range) is not refused.
      VERIFYD_LIMIT_REQUESTS_PER_KEY: "100000000/1m",
      VERIFYD_LIMIT_STARTS_PER_IP: "100000000/1h",
      VERIFYD_LIMIT_SENDS_PER_PREFIX: "100000000/1h",
      VERIFYD_LIMIT_SENDS_PER_COUNTRY: "100000000/1h",
      VERIFYD_CONVERSION_MIN_SENDS: "1000000",
      VERIFYD_CONVERSION_PROBATION_SENDS: "1000000",
    },
  });
  const client = createClient({ port: server.port, connections: 64, apiKey });
  const op = workloads({ client, codes, nextPhone: phoneNumbers() }).mixed();
  console.log(
    `verifyd soak: ${rate} req/s open loop (mixed), ${minutes} min, a row every ${intervalMs / 1000} s; ` +
      `load average ${fixed(loadavg()[0], 2)} at start\n`,
  );
  const header = ["elapsed", "req/s", "p50 ms", "p99 ms", "errors", "RSS MB", "heap MB", "db MB", "wal MB"];
  console.log(header.map((h) => h.padStart(8)).join(" "));

  const rows = [];
  let window = { latencies: [], errors: 0, reasons: new Map() };
  let inFlight = 0;
  const begin = performance.now();
  const end = begin + minutes * 60_000;
  let sent = 0;
  const fire = (scheduledAt) => {
    if (inFlight >= maxInFlight) {
      window.errors++;
      window.reasons.set("dropped: too many in flight", (window.reasons.get("dropped: too many in flight") ?? 0) + 1);
      return;
    }
    inFlight++;
    const w = window;
    op()
      .catch((err) => ({ ok: false, why: err.message }))
      .then((r) => {
        inFlight--;
        // From the scheduled time, so a server that falls behind shows it (no coordinated omission).
        w.latencies.push(performance.now() - scheduledAt);
        if (!r.ok) {
          w.errors++;
          w.reasons.set(r.why, (w.reasons.get(r.why) ?? 0) + 1);
        }
      });
  };
  // Open loop: each tick sends every request whose time has come, whatever the answers.
  const ticker = setInterval(() => {
    const now = performance.now();
    const due = Math.min(Math.floor(((Math.min(now, end) - begin) * rate) / 1000), Math.ceil(((end - begin) * rate) / 1000));
    while (sent < due) fire(begin + (sent++ * 1000) / rate);
  }, 5);
  let nextRow = begin + intervalMs;
  while (performance.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(nextRow, end) - performance.now())));
    if (!server.isRunning()) throw new Error(`the server died\n${server.output().stderr}`);
    const now = performance.now();
    const w = window;
    window = { latencies: [], errors: 0, reasons: new Map() };
    const seconds = (now - (nextRow - intervalMs)) / 1000;
    w.latencies.sort((a, b) => a - b);
    const row = {
      elapsed: (now - begin) / 1000,
      reqPerSec: w.latencies.length / seconds,
      p50: percentile(w.latencies, 0.5),
      p99: percentile(w.latencies, 0.99),
      errors: w.errors,
      reasons: w.reasons,
      rss: memoryOf(server.pid)?.rss,
      heap: await heapUsed(server.port),
      db: fileSize(db),
      wal: fileSize(`${db}-wal`),
    };
    rows.push(row);
    console.log(
      [
        `${fixed(row.elapsed, 0)} s`,
        fixed(row.reqPerSec),
        fixed(row.p50, 2),
        fixed(row.p99, 2),
        String(row.errors),
        mb(row.rss),
        mb(row.heap),
        mb(row.db),
        mb(row.wal),
      ]
        .map((c) => c.padStart(8))
        .join(" "),
    );
    for (const [why, n] of [...w.reasons].slice(0, 3)) console.log(`         ${n} × ${why}`);
    nextRow += intervalMs;
  }
  clearInterval(ticker);
  client.close();
  await stopServer(server);
  codes.close();
  await eventSink.close();
  verdict(rows);
  console.log(`events received by the sink: ${eventSink.received()}; load average at the end ${fixed(loadavg()[0], 2)}`);
}

/** Compares the first and the last third of the rows (by mean RSS and median p99), the warm-up row left out. */
function verdict(all) {
  const rows = all.length >= 4 ? all.slice(1) : all;
  if (rows.length < 3) return console.log("\nverdict: too few rows to judge drift (run at least 3 intervals)");
  const third = Math.floor(rows.length / 3);
  const first = rows.slice(0, third);
  const last = rows.slice(-third);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rss = mean(last.map((r) => r.rss)) / mean(first.map((r) => r.rss));
  const p99 = median(last.map((r) => r.p99)) / median(first.map((r) => r.p99));
  const errors = rows.reduce((a, r) => a + r.errors, 0);
  console.log(
    `\nverdict (last third / first third${rows === all ? "" : ", first row left out as warm-up"}): RSS ${fixed(rss, 2)}× — ${rss <= FLAT.rss ? "flat" : "GROWING"}` +
      ` (flat: ≤ ${FLAT.rss}×); p99 ${fixed(p99, 2)}× — ${p99 <= FLAT.p99 ? "flat" : "GROWING"} (flat: ≤ ${FLAT.p99}×);` +
      ` ${errors} errors in all`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`soak failed: ${err.stack ?? err}`);
    process.exit(1);
  },
);
