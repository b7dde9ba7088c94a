import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as sea from "node:sea";

/**
 * Support for running as a single executable (`npm run build:binary`): the better-sqlite3 addon
 * and the SQL migrations travel inside the binary as assets, and are written to a private cache
 * folder on first use because `dlopen` and drizzle's migrator both need real files.
 */

/** Asset names shared with scripts/build-binary.mjs. */
export const SEA_ASSETS = { addon: "better_sqlite3.node", migrations: "migrations.json" } as const;

/** The API docs page's Swagger UI files travel as assets named `swagger-ui/<file>`. */
export const seaDocsAssetName = (file: string) => `swagger-ui/${file}`;

export function isSingleExecutable(): boolean {
  return typeof sea.isSea === "function" && sea.isSea();
}

/**
 * `$XDG_CACHE_HOME/verifyd`, else `~/.cache/verifyd`, else the temp folder; `VERIFYD_CACHE_DIR` overrides.
 * Read here rather than through `Config`: the database is opened from several commands, and the
 * location belongs to the executable on this host, not to the service configuration.
 */
export function cacheRoot(env: Record<string, string | undefined> = process.env): string {
  if (env.VERIFYD_CACHE_DIR) return env.VERIFYD_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "verifyd");
  const home = env.HOME ?? safeHomedir();
  return home ? join(home, ".cache", "verifyd") : join(tmpdir(), `verifyd-${process.getuid?.() ?? "user"}`);
}

function safeHomedir(): string | undefined {
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
}

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

/**
 * Writes `data` to `path` unless a file with the same content is there already. The write goes to
 * a temporary name and is renamed into place, so a concurrent start never loads half a file; the
 * content is compared (not just the name), so a tampered or truncated cache entry is replaced.
 */
export function materialize(path: string, data: Uint8Array | string): string {
  if (existsSync(path) && sha256(readFileSync(path)) === sha256(data)) return path;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { mode: 0o600 });
  renameSync(temporary, path);
  chmodSync(path, 0o600);
  return path;
}

/** The better-sqlite3 addon, loaded from the cache (extracted there from the binary when needed). */
export function loadEmbeddedSqliteAddon(root: string = cacheRoot()): object {
  const bytes = new Uint8Array(sea.getAsset(SEA_ASSETS.addon));
  const path = materialize(join(root, sha256(bytes), SEA_ASSETS.addon), bytes);
  // process.dlopen, not require: the executable's own require only loads built-in modules.
  const module = { exports: {} };
  process.dlopen(module, path);
  return module.exports;
}

/** The migrations folder (SQL files and meta/_journal.json), extracted from the binary. */
export function embeddedMigrationsFolder(store: "sqlite" | "pg", root: string = cacheRoot()): string {
  const json = sea.getAsset(SEA_ASSETS.migrations, "utf8");
  const files = JSON.parse(json) as Record<string, string>;
  const folder = join(root, `migrations-${sha256(json).slice(0, 16)}`);
  for (const [name, content] of Object.entries(files)) materialize(join(folder, name), content);
  return join(folder, store);
}

/** One of the API docs page's files, from the binary (see `seaDocsAssetName`). */
export function embeddedDocsAsset(file: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(sea.getAsset(seaDocsAssetName(file)));
}
