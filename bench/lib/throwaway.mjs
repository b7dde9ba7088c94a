// Throwaway PostgreSQL and Redis servers for the benches, as the PostgreSQL tests start them: a
// fresh data directory, a free port on 127.0.0.1, deleted at stop. Their pids are returned so a
// bench can charge their CPU time to the requests it drives.
import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./server.mjs";

/**
 * PostgreSQL from /usr/lib/postgresql/<newest>, run as `postgres` when this process is root.
 * `settings` are `name=value` pairs for `-c`; the rest are the server's defaults (fsync and
 * synchronous_commit on: a commit is durable before it is acknowledged, as in production).
 */
export async function throwawayPostgres({ settings = [] } = {}) {
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
  const data = join(dir, "data");
  // --no-sync: only initdb's own files skip fsync; the server itself runs with fsync on.
  run(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync"]);
  const options = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1", "-c max_connections=200"];
  for (const s of settings) options.push(`-c ${s}`);
  run(join(bin, "pg_ctl"), ["start", "-w", "-D", data, "-l", join(dir, "log"), "-o", options.join(" ")]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    version,
    /** The postmaster: every backend is its child. */
    pid: Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]),
    stop: () => {
      run(join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "fast"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** redis-server without persistence (its counters live only for the bench). */
export async function throwawayRedis() {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", ""], { stdio: "ignore" });
  await sleep(300);
  return { url: `redis://127.0.0.1:${port}`, pid: proc.pid, stop: () => proc.kill() };
}
