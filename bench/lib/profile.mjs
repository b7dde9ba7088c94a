// Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions with the most self time.
// The server runs as an esbuild bundle (dist/cli.js and its chunks): frames are mapped back through
// the bundle's source maps to the file they came from (src/… or node_modules/…).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

const sourceMaps = new Map();

/** The original file and line of a frame in a bundle with a `.map` beside it; the frame itself otherwise. */
function originalFrame(callFrame) {
  const { url, lineNumber, columnNumber } = callFrame;
  if (!url.startsWith("file://")) return { url, lineNumber };
  const path = url.slice("file://".length);
  if (!sourceMaps.has(path)) {
    const mapFile = `${path}.map`;
    sourceMaps.set(path, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))) : null);
  }
  const map = sourceMaps.get(path);
  const entry = map?.findEntry(lineNumber, columnNumber);
  if (!entry?.originalSource) return { url, lineNumber };
  const source = entry.originalSource.replace(/^file:\/\//, "");
  return { url: `file://${resolve(dirname(path), source)}`, lineNumber: entry.originalLine };
}

/**
 * The newest main-thread profile in `dir`. Node names them CPU.<date>.<time>.<pid>.<thread>.<n>:
 * a worker thread (verifyd's WAL checkpoints) writes its own, with a thread id other than 0.
 */
export function newestProfile(dir) {
  const files = readdirSync(dir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  return files.length ? join(dir, files.sort().at(-1)) : null;
}

/**
 * Self time summed under `keyOf(frame)` (the frame mapped back to its source), largest first, with
 * each key's share of all samples (idle and GC included).
 */
function selfTimeBy(file, keyOf, limit) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0; // a sample's time is the gap until the next one
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    const key = keyOf({ ...node.callFrame, ...originalFrame(node.callFrame) });
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    totalUs += dt;
  }
  return [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / totalUs }));
}

/** Top `limit` functions by self time. */
export function topSelfTime(file, { limit = 20, root = process.cwd() } = {}) {
  return selfTimeBy(
    file,
    ({ functionName, url, lineNumber }) => {
      const where = url ? `${relative(root, url.replace(/^file:\/\//, ""))}:${lineNumber + 1}` : "";
      return `${functionName || "(anonymous)"} ${where}`.trim();
    },
    limit,
  );
}

/**
 * Self time summed by where the code lives: each npm package, each verifyd folder (`core`,
 * `store/sqlite` …), Node's internals by module, and V8's own entries (GC, idle, native calls).
 * It answers "how much of a request is SQLite, crypto, the HTTP stack, the domain".
 */
export function selfTimeByComponent(file, { limit = 25 } = {}) {
  return selfTimeBy(file, componentOf, limit);
}

function componentOf({ url, functionName }) {
  if (!url) return `(${functionName.replace(/^\(|\)$/g, "") || "native"})`;
  const path = url.replace(/^file:\/\//, "");
  const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (pkg) return `package ${pkg[1]}`;
  const bench = path.match(/\/bench\/(.+)$/);
  if (bench) return `bench/${bench[1]}`;
  const own = path.match(/\/(?:dist|src)\/(.*)\/[^/]+$/);
  if (own) return `verifyd ${own[1]}`;
  if (/\/(dist|src)\/[^/]+$/.test(path)) return "verifyd (top level)";
  if (path.startsWith("node:"))
    return `node ${
      path
        .slice(5)
        .replace(/^internal\//, "")
        .split("/")[0]
    }`;
  return path;
}

/** The newest profile in `dir` as printable lines: top functions by self time, then self time by component. */
export function profileReport(name, dir, root = process.cwd()) {
  const file = newestProfile(dir);
  if (!file) return [`no CPU profile was written for ${name} (the server did not exit cleanly)`];
  const row = (f) => `${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}`;
  return [
    `${name} CPU profile ${file}`,
    "top self time (whole run, start-up included):",
    ...topSelfTime(file, { root }).map(row),
    "",
    "self time by component (native calls such as SQLite's and crypto's count under their caller's package or module):",
    ...selfTimeByComponent(file).map(row),
  ];
}
