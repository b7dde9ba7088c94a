import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ServerProcess, spawnServer, waitReady } from "../helpers/server-process.js";
import { until, within } from "../helpers/waiting.js";
import { freePort } from "../helpers/webhook-sink.js";

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

  it("exits 78 naming the route step whose provider cannot send its channel", async () => {
    const file = join(dir, "config.json");
    writeFileSync(
      file,
      JSON.stringify({
        providers: { sms: { type: "twilio", accountSid: `AC${"a".repeat(32)}`, authToken: "t", from: "+15017122661" } },
        route: [
          { channel: "sms", providers: ["sms"] },
          { channel: "voice", providers: ["sms"] },
        ],
      }),
    );
    const child = start(env({ VERIFYD_CONFIG_FILE: file }));
    expect((await within(child.exited, EXIT_WITHIN_MS, "the server to exit")).code).toBe(78);
    expect(child.output()).toContain('verifyd: config.route[1].providers: provider "sms" cannot send voice (it sends sms)');
    expect(child.output()).not.toMatch(STACK_LINE);
    expect(child.output()).not.toContain("verifyd listening");
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

  /** The one-time development admin key, once the process printed it. */
  const printedKey = (child: ServerProcess) =>
    until(
      "the development admin key",
      () => /Development admin API key[^\n]*\n\n\s+(vfd_[A-Za-z0-9_-]+)/.exec(child.output())?.[1],
      300,
    );

  it("prints the development admin key only once the server listens, so a failed start does not use it up", async () => {
    const port = await freePort();
    const file = join(dir, "config.json");
    writeFileSync(
      file,
      JSON.stringify({ providers: { sms: { type: "twillio" } }, route: [{ channel: "sms", providers: ["sms"] }] }),
    );
    const failed = start(env({ PORT: String(port), VERIFYD_CONFIG_FILE: file }));
    expect((await within(failed.exited, EXIT_WITHIN_MS, "the server to exit")).code).toBe(78);
    expect(failed.output()).not.toContain("admin API key");

    writeFileSync(file, JSON.stringify({}));
    const fixed = start(env({ PORT: String(port), VERIFYD_CONFIG_FILE: file }));
    const key = await printedKey(fixed);
    const output = fixed.output();
    expect(output.indexOf('"msg":"verifyd listening"')).toBeGreaterThanOrEqual(0);
    expect(output.indexOf('"msg":"verifyd listening"')).toBeLessThan(output.indexOf(key));
    const res = await fetch(`http://127.0.0.1:${port}/v1/services`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
  });

  it("says which port is taken and how to choose another, without a stack, and keeps the key for the next start", async () => {
    const blocker = createTcpServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      const taken = start(env({ PORT: String(port) }));
      expect((await within(taken.exited, EXIT_WITHIN_MS, "the server to exit")).code).toBe(1);
      expect(taken.output()).toContain(`verifyd: port ${port} on 127.0.0.1 is already in use`);
      expect(taken.output()).toContain(`PORT=${port + 1}`);
      expect(taken.output()).not.toMatch(STACK_LINE);
      expect(taken.output()).not.toContain("admin API key");
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
    const next = start(env({ PORT: String(port) }));
    expect(await printedKey(next)).toMatch(/^vfd_/);
  });

  it("refuses a second server on the same SQLite file, and a crashed server's lock is not left behind", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const vars = env({ VERIFYD_ADMIN_KEY: "k".repeat(32) });
    const first = start({ ...vars, PORT: String(portA) });
    await waitReady(first, `http://127.0.0.1:${portA}`);
    const second = start({ ...vars, PORT: String(portB) });
    expect((await within(second.exited, EXIT_WITHIN_MS, "the second server to exit")).code).toBe(1);
    expect(second.output()).toContain(`verifyd: ${vars.VERIFYD_DB} is already served by another verifyd process`);
    expect(second.output()).not.toMatch(STACK_LINE);
    // The first one still serves.
    expect((await fetch(`http://127.0.0.1:${portA}/readyz`)).status).toBe(200);

    first.proc.kill("SIGKILL");
    await within(first.exited, EXIT_WITHIN_MS, "the first server to die");
    const third = start({ ...vars, PORT: String(portB) });
    await waitReady(third, `http://127.0.0.1:${portB}`);
  });
});
