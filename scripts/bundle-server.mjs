// Replaces tsc's dist/cli.js with an esbuild bundle of src/cli.ts (run after tsc by `npm run build`).
// Why: started from tsc's output, Node resolves, reads and compiles about a thousand module files
// (ours and our dependencies') before the server can listen, which was most of the start-up time
// and a good part of the idle memory. One bundle (plus chunks for what is imported on demand:
// PostgreSQL, Redis, QR codes) loads in a fraction of that. The rest of dist/ (the library entry
// dist/main.js and its typings) stays tsc's output.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHUNKS = "cli-chunks";
const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

rmSync(join(ROOT, "dist", CHUNKS), { recursive: true, force: true });
await build({
  entryPoints: [{ in: join(ROOT, "src/cli.ts"), out: "cli" }],
  outdir: join(ROOT, "dist"),
  chunkNames: `${CHUNKS}/[name]-[hash]`,
  bundle: true,
  splitting: true, // dynamic import()s become chunks, read only when imported
  platform: "node",
  target: "node20",
  format: "esm",
  // Native addons load from node_modules; pg-native is pg's optional driver, never installed.
  external: ["better-sqlite3", "pg-native"],
  // The CommonJS dependencies call require() for built-ins and each other's files; in an ES module
  // bundle that needs a real require.
  banner: {
    js: 'import { createRequire as __verifydCreateRequire } from "node:module";\nconst require = __verifydCreateRequire(import.meta.url);',
  },
  define: { __VERIFYD_VERSION__: JSON.stringify(version) },
  sourcemap: true,
  // Whitespace and syntax only: names stay readable in stack traces; half the source to hold in memory.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
});
