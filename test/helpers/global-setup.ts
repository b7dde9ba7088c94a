import { execFileSync } from "node:child_process";

/** End-to-end tests spawn the built server: build dist/ once before any test runs. */
export default function setup(): void {
  execFileSync(process.execPath, ["scripts/build-if-stale.mjs"], { stdio: "inherit" });
}
