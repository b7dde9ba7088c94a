import { execFileSync } from "node:child_process";

/** End-to-end tests spawn the built server: build dist/ once before any test runs. */
export default function setup(): void {
  if (process.env.VERIFYD_TEST_SKIP_BUILD === "1") return; // for quick runs that leave out test/e2e
  execFileSync(process.execPath, ["scripts/build-if-stale.mjs"], { stdio: "inherit" });
}
