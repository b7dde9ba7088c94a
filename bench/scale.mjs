// Throughput and cost of 1, 2 and 3 verifyd instances on one PostgreSQL + Redis: each operation is a
// start (the code reaches the sink) followed by a correct check on the next instance, round-robin.
// Usage: npm run bench:scale [-- <seconds per run, default 10>] [options, see --help]
// Uses BENCH_DATABASE_URL / BENCH_REDIS_URL when set (then the servers' CPU is not measured); else
// starts throwaway servers (as the tests do) with PostgreSQL's durable defaults (fsync and
// synchronous_commit on): an acknowledged write survives a crash, as in production.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { startCodeSink } from "./lib/code-sink.mjs";
import { createClient, percentile } from "./lib/load.mjs";
import { machineCpuMs, processCpuMs, treeCpuMs } from "./lib/proc-cpu.mjs";
import { profileReport } from "./lib/profile.mjs";
import { freePort, startServer, stopServer } from "./lib/server.mjs";
import { throwawayPostgres, throwawayRedis } from "./lib/throwaway.mjs";
import { parseServerEnv } from "./lib/verifyd-env.mjs";

const HELP = `Usage: npm run bench:scale -- [seconds] [options]

  seconds               measured time per run (default 10)
  --warmup <s>          unmeasured time before it, while the instances' code is compiled (default 3)
  --instances <list>    instance counts to run, in order (default 1,2,3)
  --connections <n>     concurrent closed-loop clients (default 32)
  --cpu-prof            profile the first instance of each run and print its top functions
  --server-env <K=V>    extra environment for every instance, repeatable (e.g. VERIFYD_DB_POOL_SIZE=20)
  --pg <name=value>     a setting of the throwaway PostgreSQL, repeatable (e.g. synchronous_commit=off)
  --statements          print the statements PostgreSQL ran most per verification (pg_stat_statements)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    instances: { type: "string", default: "1,2,3" },
    connections: { type: "string", default: "32" },
    warmup: { type: "string", default: "3" },
    "cpu-prof": { type: "boolean", default: false },
    "server-env": { type: "string", multiple: true, default: [] },
    pg: { type: "string", multiple: true, default: [] },
    statements: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const seconds = Number(positionals[0] ?? 10);
const warmupSeconds = Number(values.warmup);
const counts = values.instances.split(",").map(Number);
const connections = Number(values.connections);
const serverEnv = parseServerEnv(values["server-env"]);
const ADMIN_KEY = "bench-admin-key-0123456789abcdef";
const AREAS = ["212", "310", "415", "617", "718", "305", "206", "312", "404"];

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

/** Commits and statements of `database`, and (with pg_stat_statements) the statements by call count. */
async function databaseCounters(databaseUrl, database) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("select pg_stat_force_next_flush()").catch(() => {});
    const [db] = (
      await client.query(
        "select xact_commit::int as commits, xact_rollback::int as rollbacks from pg_stat_database where datname = $1",
        [database],
      )
    ).rows;
    const statements = await client
      .query(
        `select s.calls::int as calls, s.total_exec_time as ms, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 110) as query
         from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = $1 order by s.calls desc`,
        [database],
      )
      .then((r) => r.rows)
      .catch(() => null);
    return { ...db, statements };
  } finally {
    await client.end();
  }
}

async function redisCommands(redisUrl) {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  const info = await redis.info("stats");
  redis.disconnect();
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

/** Everything whose CPU a run is charged with; each a number of ms, NaN when not measurable. */
function cpuSnapshot(servers, postgres, redis) {
  return {
    verifyd: servers.reduce((sum, s) => sum + processCpuMs(s.pid), 0),
    postgres: postgres.pid ? treeCpuMs(postgres.pid) : Number.NaN,
    redis: redis.pid ? processCpuMs(redis.pid) : Number.NaN,
    load: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    machine: machineCpuMs(),
  };
}

async function measure(instances, databaseUrl, context) {
  const { postgres, redis, sink, profDir } = context;
  const secret = randomBytes(36).toString("base64");
  const servers = [];
  for (let i = 0; i < instances; i++) {
    const port = await freePort();
    const server = await startServer({
      cwd: process.cwd(),
      port,
      nodeArgs: profDir && i === 0 ? ["--cpu-prof", `--cpu-prof-dir=${join(profDir, `${instances}`)}`] : [],
      env: {
        VERIFYD_HOST: "127.0.0.1",
        VERIFYD_ENV: "production",
        VERIFYD_SECRET: secret,
        VERIFYD_ADMIN_KEY: ADMIN_KEY,
        VERIFYD_LOG_LEVEL: "warn",
        DATABASE_URL: databaseUrl,
        ...(redis.url ? { REDIS_URL: redis.url } : {}),
        VERIFYD_HTTP_CHANNEL_URL: sink.url,
        VERIFYD_HTTP_CHANNEL_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
        VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000000/1h",
        VERIFYD_LIMIT_SENDS_PER_COUNTRY: "1000000/1h",
        VERIFYD_LIMIT_REQUESTS_PER_KEY: "1000000/1m",
        // Nobody enters the codes: the conversion guard counts and judges every send but must not trip.
        VERIFYD_CONVERSION_MIN_SENDS: "1000000",
        VERIFYD_CONVERSION_PROBATION_SENDS: "1000000",
        ...serverEnv,
      },
    });
    // Keep-alive node:http clients, lighter than fetch: the load generator shares the cores it measures.
    server.client = createClient({ port, connections, apiKey: ADMIN_KEY });
    servers.push(server);
  }
  let seq = 0;
  const result = { made: 0, done: 0, failed: 0, why: new Map(), startMs: [], checkMs: [], opMs: [] };
  let recording = false;
  const fail = (why) => {
    if (!recording) return;
    result.failed++;
    result.why.set(why, (result.why.get(why) ?? 0) + 1);
  };
  const begin = performance.now();
  const measureFrom = begin + warmupSeconds * 1000;
  const until = measureFrom + seconds * 1000;
  // CPU is read when the measured window opens and when it closes, not once the clients have
  // drained: the work in flight at either edge is then about as much, and cancels out.
  const snapshot = async () => ({
    cpu: cpuSnapshot(servers, postgres, redis),
    redis: redis.url ? await redisCommands(redis.url) : Number.NaN,
  });
  let before;
  let after;
  const markStart = setTimeout(() => {
    recording = true;
    before = snapshot();
  }, warmupSeconds * 1000);
  const markEnd = setTimeout(
    () => {
      after = snapshot();
    },
    (warmupSeconds + seconds) * 1000,
  );
  const worker = async () => {
    while (performance.now() < until) {
      const n = seq++;
      const { client } = servers[n % servers.length];
      // Distinct valid US numbers, so no limit or live verification is shared between operations.
      const to = `+1${AREAS[n % 9]}555${String(Math.floor(n / 9) % 10000).padStart(4, "0")}`;
      const t0 = performance.now();
      const started = await client.post("/v1/verifications", { to }).catch((err) => ({ status: 0, json: { code: err.message } }));
      const t1 = performance.now();
      if (started.status !== 201) {
        fail(`start: HTTP ${started.status} ${started.json?.code ?? ""}`);
        continue;
      }
      const id = started.json.id;
      const sent = await sink.take(id).catch(() => null);
      if (sent === null) {
        fail("start: no code reached the sink");
        continue;
      }
      const t2 = performance.now();
      const checked = await servers[(n + 1) % servers.length].client
        .post(`/v1/verifications/${id}/check`, { code: sent })
        .catch((err) => ({ status: 0, json: { code: err.message } }));
      const t3 = performance.now();
      if (checked.json?.valid) result.made++;
      if (!recording || t3 > until) continue;
      if (checked.json?.valid) {
        result.done++;
        result.startMs.push(t1 - t0);
        result.checkMs.push(t3 - t2);
        result.opMs.push(t3 - t0);
      } else fail(`check: HTTP ${checked.status} ${checked.json?.code ?? checked.json?.reason ?? ""}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  clearTimeout(markStart);
  clearTimeout(markEnd);
  [before, after] = await Promise.all([before, after ?? snapshot()]);
  const elapsed = Math.min(seconds, (performance.now() - measureFrom) / 1000);
  for (const s of servers) {
    s.client.close();
    await stopServer(s);
  }
  const per = (key) => (after.cpu[key] - before.cpu[key]) / result.done;
  return {
    instances,
    perSecond: result.done / elapsed,
    ...result,
    cpu: { verifyd: per("verifyd"), postgres: per("postgres"), redis: per("redis"), load: per("load") },
    machineBusy: (after.cpu.machine.busy - before.cpu.machine.busy) / (after.cpu.machine.total - before.cpu.machine.total),
    redisCommands: (after.redis - before.redis) / result.done,
  };
}

/** Statements run (each a round trip: begin and commit count), when pg_stat_statements is loaded. */
const statements = (before, after, made) => {
  if (!after.statements) return "";
  const calls = (list) => (list ?? []).reduce((sum, s) => sum + s.calls, 0);
  return `${fixed((calls(after.statements) - calls(before.statements)) / Math.max(1, made), 1)} PostgreSQL statements, `;
};

const fixed = (n, digits) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const ms = (list, q) =>
  fixed(
    percentile(
      [...list].sort((a, b) => a - b),
      q,
    ),
    1,
  );

const postgres = process.env.BENCH_DATABASE_URL
  ? { url: process.env.BENCH_DATABASE_URL, stop() {} }
  : await throwawayPostgres({ settings: ["shared_preload_libraries=pg_stat_statements", ...values.pg] });
const redis = process.env.BENCH_REDIS_URL ? { url: process.env.BENCH_REDIS_URL, stop() {} } : await throwawayRedis();
const sink = await startCodeSink();
const profDir = values["cpu-prof"] ? mkdtempSync(join(tmpdir(), "verifyd-scale-prof-")) : null;
try {
  console.log(
    `verifyd on PostgreSQL + Redis: start + correct check per operation, ${connections} connections, ${seconds} s per run ` +
      `(after ${warmupSeconds} s warm-up)\nnode ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}, ` +
      `load average ${loadavg()[0].toFixed(2)} before the runs; PostgreSQL ${postgres.version ?? "(given)"} ${values.pg.join(" ")}` +
      `${Object.keys(serverEnv).length ? `\nserver env: ${values["server-env"].join(" ")}` : ""}`,
  );
  const rows = [];
  for (const n of counts) {
    const name = `verifyd_bench_${n}`;
    const databaseUrl = await freshDatabase(postgres.url, name);
    if (postgres.pid) {
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query("create extension if not exists pg_stat_statements");
      await admin.query("select pg_stat_statements_reset()");
      await admin.end();
    }
    const dbBefore = await databaseCounters(databaseUrl, name);
    const r = await measure(n, databaseUrl, { postgres, redis, sink, profDir });
    const dbAfter = await databaseCounters(databaseUrl, name);
    // PostgreSQL's counters are read once every backend has exited (and flushed them): over the whole
    // run, warm-up and the instances' start-up included, per verification made in it.
    rows.push(r);
    const failures = [...r.why].map(([why, k]) => `${k}× ${why}`).join(", ");
    console.log(
      `\n${n} instance(s): ${r.perSecond.toFixed(0)} verifications/s, ${r.done} in ${seconds} s (${r.failed} failed${failures ? `: ${failures}` : ""})\n` +
        `  latency ms p50/p99: start ${ms(r.startMs, 0.5)}/${ms(r.startMs, 0.99)}, check ${ms(r.checkMs, 0.5)}/${ms(r.checkMs, 0.99)}, ` +
        `start+check ${ms(r.opMs, 0.5)}/${ms(r.opMs, 0.99)}\n` +
        `  CPU ms per verification: verifyd ${fixed(r.cpu.verifyd, 2)}, PostgreSQL ${fixed(r.cpu.postgres, 2)}, Redis ${fixed(r.cpu.redis, 2)}, ` +
        `load generator ${fixed(r.cpu.load, 2)}; machine busy ${fixed(r.machineBusy * 100, 0)} % of ${cpus().length} cores\n` +
        `  per verification (whole run): ${statements(dbBefore, dbAfter, r.made)}${fixed((dbAfter.commits - dbBefore.commits) / Math.max(1, r.made), 1)} PostgreSQL commits, ` +
        `${fixed(r.redisCommands, 1)} Redis commands`,
    );
    if (values.statements && dbAfter.statements) {
      const made = Math.max(1, r.made);
      for (const s of dbAfter.statements.slice(0, 25))
        console.log(`    ${(s.calls / made).toFixed(2).padStart(6)} × ${(s.ms / s.calls).toFixed(3)} ms  ${s.query}`);
    }
    if (profDir) console.log(`\n${profileReport(`instance 1 of ${n}`, join(profDir, `${n}`)).join("\n")}`);
  }
  console.log(
    `\n| instances | verifications/s | start p50/p99 ms | check p50/p99 ms | verifyd CPU ms | PostgreSQL CPU ms | Redis CPU ms | load gen. CPU ms | machine busy |\n|---|---|---|---|---|---|---|---|---|`,
  );
  for (const r of rows)
    console.log(
      `| ${r.instances} | ${r.perSecond.toFixed(0)} | ${ms(r.startMs, 0.5)} / ${ms(r.startMs, 0.99)} | ${ms(r.checkMs, 0.5)} / ${ms(r.checkMs, 0.99)} | ` +
        `${fixed(r.cpu.verifyd, 2)} | ${fixed(r.cpu.postgres, 2)} | ${fixed(r.cpu.redis, 2)} | ${fixed(r.cpu.load, 2)} | ${fixed(r.machineBusy * 100, 0)} % |`,
    );
  if (profDir) console.log(`\nprofiles kept in ${profDir}`);
} finally {
  await sink.close();
  redis.stop();
  postgres.stop();
}
