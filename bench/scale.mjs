// Throughput of 1, 2 and 3 verifyd instances on one PostgreSQL (+ Redis when available): each
// operation is a start (the code reaches the sink) followed by a correct check, spread round-robin.
// Usage: npm run bench:scale [-- <seconds per run, default 10>]
// Uses BENCH_DATABASE_URL / BENCH_REDIS_URL when set; else starts throwaway servers (as the tests do).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort, startServer, stopServer } from "./lib/server.mjs";
import { startSink } from "./lib/sink.mjs";

const seconds = Number(process.argv[2] ?? 10);
const ADMIN_KEY = "bench-admin-key-0123456789abcdef";
const CONNECTIONS = 32;

async function throwawayPostgres() {
  const root = "/usr/lib/postgresql";
  const version = existsSync(root) ? readdirSync(root).sort().reverse()[0] : undefined;
  if (!version) throw new Error("PostgreSQL is not installed: set BENCH_DATABASE_URL");
  const bin = join(root, version, "bin");
  const dir = mkdtempSync(join(tmpdir(), "verifyd-bench-pg-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot)
    chownSync(
      dir,
      Number(execFileSync("id", ["-u", "postgres"]).toString()),
      Number(execFileSync("id", ["-g", "postgres"]).toString()),
    );
  const run = (cmd, args) =>
    execFileSync(asRoot ? "runuser" : cmd, asRoot ? ["-u", "postgres", "--", cmd, ...args] : args, { stdio: "pipe" });
  const port = await freePort();
  run(join(bin, "initdb"), ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync"]);
  run(join(bin, "pg_ctl"), [
    "start",
    "-w",
    "-D",
    join(dir, "data"),
    "-l",
    join(dir, "log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      run(join(bin, "pg_ctl"), ["stop", "-D", join(dir, "data"), "-m", "fast"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function throwawayRedis() {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", ""], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 300));
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill() };
}

async function freshDatabase(serverUrl, name) {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function measure(instances, databaseUrl, redisUrl, sink) {
  const secret = randomBytes(36).toString("base64");
  const servers = [];
  for (let i = 0; i < instances; i++) {
    const port = await freePort();
    servers.push(
      await startServer({
        cwd: process.cwd(),
        port,
        env: {
          VERIFYD_HOST: "127.0.0.1",
          VERIFYD_ENV: "production",
          VERIFYD_SECRET: secret,
          VERIFYD_ADMIN_KEY: ADMIN_KEY,
          VERIFYD_LOG_LEVEL: "warn",
          DATABASE_URL: databaseUrl,
          ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
          VERIFYD_HTTP_CHANNEL_URL: sink.url,
          VERIFYD_HTTP_CHANNEL_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
          VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000000/1h",
          VERIFYD_LIMIT_SENDS_PER_COUNTRY: "1000000/1h",
          VERIFYD_LIMIT_REQUESTS_PER_KEY: "1000000/1m",
          // Nobody enters the codes: the conversion guard counts and judges every send but must not trip.
          VERIFYD_CONVERSION_MIN_SENDS: "1000000",
          VERIFYD_CONVERSION_PROBATION_SENDS: "1000000",
        },
      }),
    );
    servers[i].base = `http://127.0.0.1:${port}`;
  }
  let seq = 0;
  let done = 0;
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  const call = (base, path, body) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  const worker = async () => {
    while (performance.now() < until) {
      const n = seq++;
      const base = servers[n % servers.length].base;
      // Distinct valid US numbers, so no limit or live verification is shared between operations.
      const to = `+1${["212", "310", "415", "617", "718", "305", "206", "312", "404"][n % 9]}555${String(Math.floor(n / 9) % 10000).padStart(4, "0")}`;
      const started = await call(base, "/v1/verifications", { to });
      if (started.status !== 201) {
        failed++;
        continue;
      }
      const code = await sink.take(started.body.id);
      const checked = await call(servers[(n + 1) % servers.length].base, `/v1/verifications/${started.body.id}/check`, { code });
      if (checked.body.valid) done++;
      else failed++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  for (const s of servers) await stopServer(s);
  return { instances, perSecond: done / elapsed, failed };
}

const postgres = process.env.BENCH_DATABASE_URL ? { url: process.env.BENCH_DATABASE_URL, stop() {} } : await throwawayPostgres();
const redis = process.env.BENCH_REDIS_URL ? { url: process.env.BENCH_REDIS_URL, stop() {} } : await throwawayRedis();
const sink = await startSink();
try {
  console.log(
    `verifyd on PostgreSQL + Redis: start + correct check per operation, ${CONNECTIONS} connections, ${seconds}s per run`,
  );
  for (const n of [1, 2, 3]) {
    const databaseUrl = await freshDatabase(postgres.url, `verifyd_bench_${n}`);
    const r = await measure(n, databaseUrl, redis.url, sink);
    console.log(`${n} instance(s): ${r.perSecond.toFixed(0)} verifications/s (${r.failed} failed)`);
  }
} finally {
  await sink.close();
  redis.stop();
  postgres.stop();
}
