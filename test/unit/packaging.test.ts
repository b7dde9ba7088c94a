import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * What `npm pack` would publish: the server package holds what runs (dist/, the migrations, README,
 * LICENSE), the client package its build and README, and neither holds tests or benchmarks.
 * Packing runs each package's prepack script (the server's build when stale, the client's build).
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function packedFiles(workspace?: string): string[] {
  const args = ["pack", "--dry-run", "--json", ...(workspace ? ["--workspace", workspace] : [])];
  const out = execFileSync("npm", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const [report] = JSON.parse(out) as { files: { path: string }[] }[];
  return (report?.files ?? []).map((f) => f.path);
}

const manifest = (dir: string) =>
  JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;

describe("npm pack", () => {
  it("of the server holds what runs, and no tests or benchmarks", () => {
    const files = packedFiles();
    expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "LICENSE", "dist/cli.js", "dist/main.js"]));
    expect(files.some((f) => /^drizzle\/sqlite\/\d+_.*\.sql$/.test(f))).toBe(true);
    expect(files).toContain("drizzle/sqlite/meta/_journal.json");
    expect(files).toContain("drizzle/pg/meta/_journal.json");
    expect(files.filter((f) => !/^(dist|drizzle)\/|^(package\.json|README\.md|LICENSE)$/.test(f))).toEqual([]);
    expect(files.filter((f) => /^dist\/(bin|sea)\//.test(f) || f.endsWith("_snapshot.json"))).toEqual([]);
  }, 120_000);

  it("of the client holds its build, declarations and README; it has no dependencies and loads alone", () => {
    const files = packedFiles("packages/client");
    expect(files.sort()).toEqual(
      ["LICENSE", "README.md", "dist/index.d.ts", "dist/index.js", "dist/types.d.ts", "dist/types.js", "package.json"].sort(),
    );
    const client = manifest("packages/client");
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "bundleDependencies"]) {
      expect(client[field], field).toBeUndefined();
    }
    const dir = join(ROOT, "packages/client");
    for (const file of ["dist/index.js", "dist/types.js"]) {
      const source = readFileSync(join(dir, file), "utf8");
      const imports = [...source.matchAll(/(?:import|export)[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']/g)].map(
        (m) => m[1] ?? m[2],
      );
      expect(imports.filter((s) => !s?.startsWith("./"))).toEqual([]);
    }
    const exported = (manifest("packages/client").exports as unknown as Record<string, { types: string; default: string }>)["."];
    expect(exported).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" });
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(join(dir, "dist/index.js"))}); console.log(Object.keys(m).sort().join())`,
      ],
      { encoding: "utf8" },
    );
    expect(out.trim()).toBe("VerifydClient,VerifydError,VerifydNetworkError");
  }, 120_000);
});
