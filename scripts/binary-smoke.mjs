// Smoke test of the single executable: builds it, copies it alone into an empty folder, and runs a
// verification end to end (dev mode, console channel) and loads the API docs page — cold start, then a warm restart that reuses
// the extracted addon and the database. Prints the binary size and the start-up times.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkDocsPage } from "./docs-page-check.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TIMEOUT_MS = 20_000;

if (!process.argv.includes("--no-build")) {
  execFileSync(process.execPath, [join(ROOT, "scripts/build-binary.mjs")], { stdio: "inherit" });
}
const dir = mkdtempSync(join(tmpdir(), "verifyd-binary-"));
const binary = join(dir, "verifyd");
copyFileSync(join(ROOT, "dist/bin/verifyd"), binary);

const fail = (message) => {
  throw new Error(message);
};

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** Polls `probe` until it returns a value (not undefined) or the time is up. */
async function until(what, probe) {
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  return fail(`timed out waiting for ${what}`);
}

function start(port, probePort) {
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    XDG_CACHE_HOME: join(dir, "cache"),
    PORT: String(port),
    VERIFYD_HOST: "127.0.0.1",
    ...(probePort ? { VERIFYD_PROBE_PORT: String(probePort) } : {}),
  };
  const proc = spawn(binary, ["serve"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout.on("data", (chunk) => {
    output += chunk;
  });
  proc.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  return { proc, output: () => output, exited };
}

async function ready(child, base) {
  const t0 = performance.now();
  await until("GET /readyz = 200", async () => {
    if (child.proc.exitCode !== null) fail(`verifyd exited with ${child.proc.exitCode}:\n${child.output()}`);
    const res = await fetch(`${base}/readyz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  });
  return performance.now() - t0;
}

async function stop(child) {
  child.proc.kill("SIGTERM");
  const { code, signal } = await child.exited;
  if (code !== 0) fail(`expected exit 0 on SIGTERM, got ${code ?? signal}:\n${child.output()}`);
}

try {
  const version = execFileSync(binary, ["version"], { cwd: dir, encoding: "utf8" }).trim();
  if (!/^\d+\.\d+\.\d+/.test(version)) fail(`"verifyd version" printed ${JSON.stringify(version)}`);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const probePort = await freePort();
  const first = start(port, probePort);
  const coldMs = await ready(first, base);
  // The probe port's thread runs from source embedded in the executable.
  await until("GET /readyz = 200 on the probe port", async () => {
    const res = await fetch(`http://127.0.0.1:${probePort}/readyz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  });
  const key = await until("the development admin key", () => /\b(vfd_[A-Za-z0-9_-]+)/.exec(first.output())?.[1]);
  const api = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  const TO = "+14155550142";
  const started = await api("POST", "/v1/verifications", { to: TO });
  if (started.status !== 201) fail(`start answered ${started.status}: ${JSON.stringify(started.body)}`);
  const line = new RegExp(`\\[verifyd console channel\\] sms to \\${TO}: .*?(\\d{4,10})`);
  const code = await until("the code on the console channel", () => line.exec(first.output())?.[1]);
  const check = await api("POST", `/v1/verifications/${started.body.id}/check`, { code });
  if (check.body.status !== "approved") fail(`check answered ${check.status}: ${JSON.stringify(check.body)}`);
  // The API docs page's files travel inside the binary.
  const docsFiles = await checkDocsPage(base).catch((err) => {
    first.proc.kill("SIGKILL");
    throw err;
  });
  await stop(first);

  // Warm start: the addon is reused from the cache, the database is already migrated.
  const second = start(port);
  const warmMs = await ready(second, base);
  const read = await api("GET", `/v1/verifications/${started.body.id}`);
  if (read.body.status !== "approved") fail(`after restart the verification reads ${JSON.stringify(read.body)}`);
  await stop(second);

  const leftovers = readdirSync(dir).filter((f) => !["verifyd", "data", "cache"].includes(f));
  if (leftovers.length > 0) fail(`unexpected files beside the binary: ${leftovers.join(", ")}`);
  const mib = (statSync(binary).size / 1024 / 1024).toFixed(1);
  process.stdout.write(
    `binary smoke test passed: verifyd ${version}, ${mib} MiB, /docs and its ${docsFiles} files served, ready in ${coldMs.toFixed(0)} ms cold / ${warmMs.toFixed(0)} ms warm\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
