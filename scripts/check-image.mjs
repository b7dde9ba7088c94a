// Rehearses the Dockerfile's runtime stage without a Docker engine: the production dependencies
// (npm prune --omit=dev, as the build stage does), dist/ and the migrations in a fresh folder; then
// the image's ENV (with /data mapped to a temp folder), secrets as *_FILE, its CMD, its HEALTHCHECK
// command, the API docs page and SIGTERM. Fails if anything is written outside the data folder (read-only root).
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { envOf, finalStage, parseDockerfile } from "./check-dockerfile.mjs";
import { checkDocsPage } from "./docs-page-check.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const stage = finalStage(parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8")));
const execArgs = (keyword) => {
  const args = stage.filter((i) => i.keyword === keyword).at(-1)?.args ?? "";
  return JSON.parse(args.slice(args.indexOf("[")));
};
const cmd = execArgs("CMD");
const healthcheck = execArgs("HEALTHCHECK");

execFileSync(process.execPath, [join(ROOT, "scripts/build-if-stale.mjs")], { stdio: "inherit" });
const root = mkdtempSync(join(tmpdir(), "verifyd-image-"));
const app = join(root, "app");
const data = join(root, "data");
const secrets = join(root, "secrets");
const fail = (message) => {
  throw new Error(message);
};

/** Every file under `dir` with its size and mtime, to see what a run wrote. */
const snapshot = (dir) =>
  new Map(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        const path = join(e.parentPath ?? e.path, e.name);
        const s = statSync(path);
        return [relative(dir, path), `${s.size}:${s.mtimeMs}`];
      }),
  );

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

try {
  const started = performance.now();
  mkdirSync(app);
  mkdirSync(data);
  mkdirSync(secrets);
  for (const file of ["package.json", "package-lock.json"]) cpSync(join(ROOT, file), join(app, file));
  cpSync(join(ROOT, "drizzle"), join(app, "drizzle"), { recursive: true });
  cpSync(join(ROOT, "dist"), join(app, "dist"), { recursive: true, filter: (src) => !/dist[\\/](bin|sea)$/.test(src) });
  // Only the packages the lockfile marks as production ones (a real copy, never hard links: the
  // files may be shared with other checkouts); npm prune --omit=dev then has to agree with it.
  // Workspace links (the client package) are left out: the image copies no packages/ folder, so
  // npm ci there installs none.
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const production = Object.entries(lock.packages)
    .filter(([path, meta]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && !meta.dev && !meta.link)
    .map(([path]) => path);
  for (const path of production) cpSync(join(ROOT, path), join(app, path), { recursive: true });
  cpSync(join(ROOT, "node_modules/.package-lock.json"), join(app, "node_modules/.package-lock.json"));
  execFileSync("npm", ["prune", "--omit=dev", "--offline", "--no-audit", "--no-fund"], { cwd: app, stdio: "ignore" });
  for (const dev of ["typescript", "vitest", "esbuild"]) {
    if (readdirSync(join(app, "node_modules")).includes(dev)) fail(`${dev} survived npm prune --omit=dev`);
  }

  writeFileSync(join(secrets, "secret"), `${"s".repeat(48)}\n`);
  writeFileSync(join(secrets, "admin-key"), `${"k".repeat(32)}\n`);
  writeFileSync(join(secrets, "hook"), `whsec_${Buffer.alloc(32, 1).toString("base64")}\n`);
  const port = await freePort();
  const imageEnv = Object.fromEntries(Object.entries(envOf(stage)).map(([k, v]) => [k, v.replace(/^\/data(?=\/|$)/, data)]));
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: "/nonexistent", // the image user has no home
    ...imageEnv,
    PORT: String(port),
    VERIFYD_HOST: "127.0.0.1",
    VERIFYD_SECRET_FILE: join(secrets, "secret"),
    VERIFYD_ADMIN_KEY_FILE: join(secrets, "admin-key"),
    VERIFYD_HTTP_CHANNEL_URL: "http://127.0.0.1:9/sms",
    VERIFYD_HTTP_CHANNEL_SECRET_FILE: join(secrets, "hook"),
  };

  const version = execFileSync(cmd[0], [cmd[1], "version"], { cwd: app, env, encoding: "utf8" }).trim();
  const before = snapshot(app);
  const server = spawn(cmd[0], cmd.slice(1), { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  server.stdout.on("data", (c) => (output += c));
  server.stderr.on("data", (c) => (output += c));
  const exited = new Promise((resolve) => server.once("exit", (code) => resolve(code)));

  const deadline = Date.now() + 20_000;
  let healthy = false;
  while (!healthy && Date.now() < deadline && server.exitCode === null) {
    try {
      execFileSync(healthcheck[0], healthcheck.slice(1), { env, stdio: "ignore" });
      healthy = true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!healthy) {
    server.kill("SIGKILL");
    fail(`the HEALTHCHECK command never passed:\n${output}`);
  }
  // The API docs page loads its files from the image's node_modules, not a CDN.
  const docsFiles = await checkDocsPage(`http://127.0.0.1:${port}`).catch((err) => {
    server.kill("SIGKILL");
    throw err;
  });
  server.kill("SIGTERM");
  const code = await exited;
  if (code !== 0) fail(`expected exit 0 after SIGTERM, got ${code}:\n${output}`);

  const after = snapshot(app);
  const written = [...after].filter(([path, stamp]) => before.get(path) !== stamp).map(([path]) => path);
  if (written.length > 0) fail(`wrote outside the data folder: ${written.join(", ")}`);
  if (!readdirSync(data).includes("verifyd.db")) fail("no database in the data folder");
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `image rehearsal passed: verifyd ${version}, healthy, /docs and its ${docsFiles} files served, clean SIGTERM, writes only to /data (${seconds}s)\n`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
