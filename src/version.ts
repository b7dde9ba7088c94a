import { readFileSync } from "node:fs";

/** Set by the single-executable build (esbuild `define`), which has no package.json beside it. */
declare const __VERIFYD_VERSION__: string | undefined;

/** The package version, read once from package.json beside `src/` or `dist/`. */
export const VERSION: string = (() => {
  if (typeof __VERIFYD_VERSION__ === "string") return __VERIFYD_VERSION__;
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "dev";
  } catch {
    return "dev";
  }
})();
