// Lints the OpenAPI document verifyd serves with Redocly's recommended rules, warnings counted as
// errors (redocly.yaml). The document comes from the app itself, built in-process on a throwaway
// database and asked for GET /openapi.json: no server, no network. `--out <file>` keeps it.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const out = process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1] : undefined;

execFileSync(process.execPath, [join(ROOT, "scripts/build-if-stale.mjs")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
const { loadConfig } = await import(join(ROOT, "dist/config/env.js"));
const { buildRuntime } = await import(join(ROOT, "dist/compose.js"));

/** The document as GET /openapi.json answers it, from an app on a fresh database in `dir`. */
async function servedDocument(dir) {
  const config = loadConfig({
    VERIFYD_DB: join(dir, "verifyd.db"),
    VERIFYD_SECRET: randomBytes(32).toString("base64"),
    VERIFYD_ADMIN_KEY: randomBytes(32).toString("base64url"),
    VERIFYD_LOG_LEVEL: "silent",
  });
  const runtime = await buildRuntime(config);
  try {
    const res = await runtime.app.request("/openapi.json");
    if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
    return `${JSON.stringify(await res.json(), null, 2)}\n`;
  } finally {
    await runtime.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), "verifyd-openapi-"));
try {
  const file = out ?? join(dir, "openapi.json");
  writeFileSync(file, await servedDocument(dir));
  execFileSync(
    process.execPath,
    [
      join(ROOT, "node_modules/@redocly/cli/bin/cli.js"),
      "lint",
      "--config",
      join(ROOT, "redocly.yaml"),
      "--format",
      "stylish",
      file,
    ],
    {
      cwd: ROOT,
      stdio: "inherit",
      // Offline: no usage reports, no update check.
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    },
  );
} catch (err) {
  process.exitCode = 1;
  if (err.status === undefined) throw err; // not redocly's verdict: show what went wrong
} finally {
  rmSync(dir, { recursive: true, force: true });
}
