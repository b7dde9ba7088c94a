import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

/** `verifyd rotate-key` and the key check, through the built CLI (`dist/cli.js`): their exit codes. */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("verifyd rotate-key (CLI)", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 78 without the previous secret, 1 with a wrong one, 0 once re-keyed; serve then refuses the old secret", () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-rotate-cli-"));
    const oldSecret = randomBytes(36).toString("base64");
    const newSecret = randomBytes(36).toString("base64");
    const base = { PATH: process.env.PATH ?? "", VERIFYD_DB: join(dir, "verifyd.db"), VERIFYD_LOG_LEVEL: "silent" };
    const run = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, ["dist/cli.js", ...args], {
        cwd: ROOT,
        env: { ...base, ...env },
        encoding: "utf8",
        timeout: 30_000,
      });

    expect(run(["migrate"], { VERIFYD_SECRET: oldSecret }).status).toBe(0);
    const missing = run(["rotate-key"], { VERIFYD_SECRET: newSecret });
    expect(missing.status).toBe(78);
    expect(missing.stderr).toContain("VERIFYD_PREVIOUS_SECRET");
    const wrong = run(["rotate-key"], {
      VERIFYD_SECRET: newSecret,
      VERIFYD_PREVIOUS_SECRET: newSecret.split("").reverse().join(""),
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("sealed with another VERIFYD_SECRET");
    const rotated = run(["rotate-key"], { VERIFYD_SECRET: newSecret, VERIFYD_PREVIOUS_SECRET: oldSecret });
    expect(rotated.status).toBe(0);
    expect(rotated.stdout).toMatch(/^re-keyed /);
    const again = run(["rotate-key"], { VERIFYD_SECRET: newSecret, VERIFYD_PREVIOUS_SECRET: oldSecret });
    expect(again.status).toBe(0);
    expect(again.stdout).toContain("nothing to do");
    const stale = run(["serve"], { VERIFYD_SECRET: oldSecret, PORT: "0", VERIFYD_HOST: "127.0.0.1" });
    expect(stale.status).toBe(78);
    expect(stale.stderr).toContain("verifyd rotate-key");
  });
});
