import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ServerProcess, spawnServer } from "../helpers/server-process.js";
import { within } from "../helpers/waiting.js";

/**
 * A newcomer's first starts of the built server (`node dist/cli.js serve`) as a process: every
 * configuration mistake ends in exit 78 and a message that names the setting, never a stack trace.
 */

/** Generous: a busy CI machine may take seconds to boot node and migrate. */
const EXIT_WITHIN_MS = 30_000;
const STACK_LINE = /^\s+at /m;

describe("configuration mistakes at start", () => {
  let dir: string;
  let secret: string;
  const children: ServerProcess[] = [];
  const env = (more: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env.PATH ?? "",
    PORT: "0",
    VERIFYD_HOST: "127.0.0.1",
    VERIFYD_DB: join(dir, "verifyd.db"),
    VERIFYD_SECRET: secret,
    ...more,
  });
  const start = (vars: Record<string, string>) => {
    const child = spawnServer(vars);
    children.push(child);
    return child;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-first-start-"));
    secret = randomBytes(36).toString("base64");
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGKILL");
      await within(child.exited, 5000, "killing a leftover child");
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits 78 with the provider setting named for a misspelled type or key in the config file", async () => {
    const file = join(dir, "config.json");
    writeFileSync(
      file,
      JSON.stringify({
        providers: { sms: { type: "twillio", accountSid: `AC${"a".repeat(32)}`, authToken: "t", from: "+15017122661" } },
        route: [{ channel: "sms", providers: ["sms"] }],
      }),
    );
    const typo = start(env({ VERIFYD_CONFIG_FILE: file }));
    expect((await within(typo.exited, EXIT_WITHIN_MS, "the server to exit")).code).toBe(78);
    expect(typo.output()).toContain('config.providers.sms.type: unknown provider type "twillio" (did you mean "twilio"?)');
    expect(typo.output()).not.toMatch(STACK_LINE);

    writeFileSync(
      file,
      JSON.stringify({
        providers: { sms: { type: "twilio", acountSid: `AC${"a".repeat(32)}`, authToken: "t", from: "+15017122661" } },
        route: [{ channel: "sms", providers: ["sms"] }],
      }),
    );
    const key = start(env({ VERIFYD_CONFIG_FILE: file }));
    expect((await within(key.exited, EXIT_WITHIN_MS, "the server to exit")).code).toBe(78);
    expect(key.output()).toContain('config.providers.sms.acountSid: unknown setting (did you mean "accountSid"?)');
    expect(key.output()).not.toMatch(STACK_LINE);
  });

  it("lists every missing production setting in one exit 78, and warns about a misspelled variable", async () => {
    const vars = env({ VERIFYD_ENV: "production", VERIFYD_ADMIN_KEYY: "k".repeat(32) });
    delete vars.VERIFYD_SECRET;
    const child = start(vars);
    expect((await within(child.exited, EXIT_WITHIN_MS, "the server to exit")).code).toBe(78);
    const output = child.output();
    expect(output).toContain(
      "verifyd: warning: VERIFYD_ADMIN_KEYY is not a verifyd setting and is ignored; did you mean VERIFYD_ADMIN_KEY?",
    );
    expect(output).toContain("invalid configuration (3 problems)");
    for (const line of [
      "route: the console channel prints codes and is refused in production",
      "VERIFYD_SECRET: required in production",
      "VERIFYD_ADMIN_KEY: required in production",
    ]) {
      expect(output).toContain(line);
    }
    expect(output).not.toMatch(STACK_LINE);
  });
});
