import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { embeddedMigrationsFolder, isSingleExecutable } from "../sea.js";

/**
 * `drizzle/<store>` of the installed package: the nearest one above this module, which runs from
 * `src/`, from tsc's `dist/` or from the bundled `dist/cli.js` (and its chunks), each at a different
 * depth. Inside the single executable, the copy extracted from it. Resolved on use: the bundled
 * executable has no module URL.
 */
export function migrationsFolder(store: "sqlite" | "pg"): string {
  if (isSingleExecutable()) return embeddedMigrationsFolder(store);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const folder = join(dir, "drizzle", store);
    if (existsSync(join(folder, "meta", "_journal.json"))) return folder;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`drizzle/${store} migrations not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
