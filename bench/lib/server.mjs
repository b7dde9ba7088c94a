// Spawning the built server as a child process, optionally pinned to CPU 0, and reading its memory.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

/** A free TCP port on 127.0.0.1: listen on 0, note the port, close (a small reuse race is accepted). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Pinning needs `taskset`, two CPUs and permission to use CPUs 0 and 1. */
export function pinningSupport() {
  if (availableParallelism() < 2) return { ok: false, why: `only ${availableParallelism()} CPU available` };
  const probe = spawnSync("taskset", ["-c", "0,1", "true"], { stdio: "ignore" });
  if (probe.error) return { ok: false, why: "taskset not found" };
  if (probe.status !== 0) return { ok: false, why: "taskset cannot use CPUs 0 and 1 here" };
  return { ok: true, why: "" };
}

/** Moves every thread of a running process (this one, by default) onto `cpu`. */
export function pinProcess(cpu, pid = process.pid) {
  const run = spawnSync("taskset", ["-a", "-cp", String(cpu), String(pid)], { stdio: "ignore" });
  return !run.error && run.status === 0;
}

/** Keeps the last `max` characters written to a stream, for error reports. */
function tail(stream, max = 4000) {
  let text = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    text = (text + chunk).slice(-max);
  });
  return () => text;
}

/**
 * Starts `node dist/cli.js serve` with `env` (on top of PATH/HOME-ish variables; no inherited
 * VERIFYD_*), waits for /readyz to answer 200 and returns the handle with the start-up time.
 */
export async function startServer({
  cwd,
  env,
  port,
  pin,
  nodeArgs = [],
  script = ["dist/cli.js", "serve"],
  readyTimeoutMs = 20_000,
}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VERIFYD_") && k !== "PORT"));
  const nodeCmd = [process.execPath, ...nodeArgs, ...script];
  const [cmd, ...args] = pin ? ["taskset", "-c", "0", ...nodeCmd] : nodeCmd;
  const spawnedAt = performance.now();
  const child = spawn(cmd, args, { cwd, env: { ...base, ...env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  const stdout = tail(child.stdout);
  const stderr = tail(child.stderr);
  let exited = null;
  child.once("exit", (code, signal) => {
    exited = { code, signal };
  });

  const deadline = spawnedAt + readyTimeoutMs;
  while ((await statusOf(port, "/readyz")) !== 200) {
    const problem = exited
      ? `server exited during start-up (${JSON.stringify(exited)})`
      : performance.now() > deadline && `server not ready after ${readyTimeoutMs} ms`;
    if (problem) {
      child.kill("SIGKILL");
      throw new Error(`${problem}\n${stderr() || stdout()}`);
    }
    await sleep(5);
  }
  const startupMs = performance.now() - spawnedAt;
  return {
    child,
    pid: child.pid,
    port,
    startupMs,
    output: () => ({ stdout: stdout(), stderr: stderr() }),
    isRunning: () => exited === null,
  };
}

function statusOf(port, path) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes; null off Linux or after exit. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** User + system CPU time of a process in ms (Linux, 100 ticks per second); NaN when unreadable. */
export function cpuTimeOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from the 3rd (state) on
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime
  } catch {
    return Number.NaN;
  }
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0, `echo 5 > clear_refs`) so a peak can be read per phase. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM (graceful: lets the server flush a --cpu-prof), then SIGKILL after `graceMs`. */
export async function stopServer(server, graceMs = 5000) {
  if (!server.isRunning()) return;
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
