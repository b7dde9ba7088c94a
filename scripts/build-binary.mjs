// Builds dist/bin/verifyd: one executable holding Node, the bundled program, the SQL migrations,
// the better-sqlite3 addon and the API docs page's Swagger UI files (Node single executable application: bundle → SEA blob → postject).
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, "dist/bin");
const WORK = join(ROOT, "dist/sea");
const BINARY = join(OUT, process.platform === "win32" ? "verifyd.exe" : "verifyd");
const ADDON = join(ROOT, "node_modules/better-sqlite3/build/Release/better_sqlite3.node");
// Both stores' migrations, keyed `sqlite/…` and `pg/…`.
const MIGRATIONS = join(ROOT, "drizzle");
// The API docs page's Swagger UI files (src/http/docs-assets.ts DOCS_ASSETS), embedded as `swagger-ui/<file>`.
const SWAGGER_UI = join(ROOT, "node_modules/swagger-ui-dist");
const DOCS_FILES = ["swagger-ui-bundle.js", "swagger-ui.css"];
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

const started = performance.now();
const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
mkdirSync(OUT, { recursive: true });

/**
 * Optional modules that dependencies probe for with require() (debug → supports-color, pg →
 * pg-native): inside the executable that require can only load built-ins and warns on every start,
 * so they are bundled as stand-ins instead — no colour support, and no native PostgreSQL driver.
 */
const optionalStandIns = {
  name: "optional-stand-ins",
  setup(b) {
    b.onResolve({ filter: /^(supports-color|pg-native)$/ }, (args) => ({ path: args.path, namespace: "stand-in" }));
    b.onLoad({ filter: /.*/, namespace: "stand-in" }, (args) => ({
      contents:
        args.path === "pg-native"
          ? 'throw new Error("pg-native is not part of the verifyd executable");'
          : "module.exports = false;",
      loader: "js",
    }));
  },
};

// 1. One CommonJS file (SEA runs a CommonJS main script); native and optional modules stay out.
await build({
  plugins: [optionalStandIns],
  entryPoints: [join(ROOT, "src/cli.ts")],
  outfile: join(WORK, "verifyd.cjs"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  legalComments: "none",
  define: { __VERIFYD_VERSION__: JSON.stringify(version) },
  logLevel: "warning",
  // import.meta.url is only read outside the executable (paths beside dist/); keep esbuild quiet about it.
  logOverride: { "empty-import-meta": "silent" },
});

// 2. Migrations as one JSON asset: { "sqlite/0000_init.sql": "...", "pg/meta/_journal.json": "...", … }.
const listFiles = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
const migrations = Object.fromEntries(
  listFiles(MIGRATIONS)
    .filter((f) => f.endsWith(".sql") || f.endsWith("_journal.json"))
    .map((f) => [relative(MIGRATIONS, f).split("\\").join("/"), readFileSync(f, "utf8")]),
);
writeFileSync(join(WORK, "migrations.json"), JSON.stringify(migrations));

// 3. The SEA blob (asset names match src/sea.ts SEA_ASSETS and seaDocsAssetName).
const seaConfig = {
  main: join(WORK, "verifyd.cjs"),
  output: join(WORK, "sea-prep.blob"),
  disableExperimentalSEAWarning: true,
  useCodeCache: false, // a code cache ties the blob to this exact V8 build and flags; keep it portable
  assets: {
    "better_sqlite3.node": ADDON,
    "migrations.json": join(WORK, "migrations.json"),
    ...Object.fromEntries(DOCS_FILES.map((file) => [`swagger-ui/${file}`, join(SWAGGER_UI, file)])),
  },
};
writeFileSync(join(WORK, "sea-config.json"), JSON.stringify(seaConfig, null, 2));
execFileSync(process.execPath, ["--experimental-sea-config", join(WORK, "sea-config.json")], {
  stdio: ["ignore", "ignore", "inherit"],
});

// 4. A copy of this node with the blob injected.
rmSync(BINARY, { force: true });
copyFileSync(process.execPath, BINARY);
chmodSync(BINARY, 0o755);
const postject = join(ROOT, "node_modules/postject/dist/cli.js");
const machoSegment = process.platform === "darwin" ? ["--macho-segment-name", "NODE_SEA"] : [];
execFileSync(
  process.execPath,
  [postject, BINARY, "NODE_SEA_BLOB", seaConfig.output, "--sentinel-fuse", FUSE, ...machoSegment],
  { stdio: "pipe" }, // its "Can't find string offset" warnings are noise; a failure throws with stderr
);

const seconds = ((performance.now() - started) / 1000).toFixed(1);
const megabytes = (statSync(BINARY).size / 1024 / 1024).toFixed(1);
process.stdout.write(`built ${relative(ROOT, BINARY)} (${megabytes} MiB) in ${seconds}s\n`);
