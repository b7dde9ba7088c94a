import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { adminCommand } from "../../src/commands/admin.js";
import { buildRuntime } from "../../src/compose.js";
import { type Config, loadConfig } from "../../src/config/env.js";
import { ConfigError } from "../../src/config/errors.js";
import { createLogger } from "../../src/observability/logger.js";

/** `verifyd keys …` and `verifyd services …` against a real SQLite file. */

let dir: string;
let config: Config;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "verifyd-admin-cli-"));
  config = loadConfig({
    VERIFYD_DB: join(dir, "verifyd.db"),
    VERIFYD_SECRET: "s".repeat(48),
    VERIFYD_ADMIN_KEY: "admin-key-for-the-cli-tests-0123456789",
    VERIFYD_LOG_LEVEL: "silent",
  });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await adminCommand(config, argv, { write: (t) => out.push(t), writeErr: (t) => err.push(t) });
  return { code, out: out.join(""), err: err.join("") };
}

const field = (text: string, name: string) => {
  const match = new RegExp(`^${name}\\s+(\\S+)$`, "m").exec(text);
  if (!match?.[1]) throw new Error(`no ${name} in ${text}`);
  return match[1];
};

describe("verifyd keys and services", () => {
  it("creates a service and a key, lists it without its secret, revokes it", async () => {
    const service = await run("services", "create", "--name", "Acme");
    expect(service.code).toBe(0);
    const serviceId = field(service.out, "id");
    expect(serviceId).toMatch(/^svc_/);
    expect((await run("services", "list")).out).toContain(serviceId);

    const created = await run("keys", "create", "--service", serviceId, "--label", "checkout backend");
    expect(created.code).toBe(0);
    const key = field(created.out, "key");
    const keyId = field(created.out, "id");
    expect(key).toMatch(/^vfd_/);
    expect(keyId).toMatch(/^key_/);

    const listed = await run("keys", "list", "--service", serviceId);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(keyId);
    expect(listed.out).toContain(key.slice(0, 12));
    expect(listed.out).toContain("checkout backend");
    expect(listed.out).not.toContain(key);
    const row = listed.out.split("\n").find((l) => l.startsWith(keyId));
    expect(row?.trimEnd().endsWith("-")).toBe(true); // not revoked

    expect(await run("keys", "revoke", keyId)).toMatchObject({ code: 0, out: `revoked ${keyId}\n` });
    const after = (await run("keys", "list")).out.split("\n").find((l) => l.startsWith(keyId));
    expect(after).toMatch(/\d{4}-\d\d-\d\dT\S+Z$/); // the revocation time
  });

  it("creates admin keys", async () => {
    const created = await run("keys", "create", "--admin", "--label", "ops");
    expect(created.code).toBe(0);
    expect(field(created.out, "service")).toBe("(admin)");
    expect((await run("keys", "list")).out).toMatch(/\(admin\)\s+ops/);
  });

  it("shows a service's resolved policy and route", async () => {
    const serviceId = field((await run("services", "create", "--name", "Acme")).out, "id");
    const shown = await run("services", "show", serviceId);
    expect(shown.code).toBe(0);
    const body = JSON.parse(shown.out);
    expect(body).toMatchObject({ id: serviceId, name: "Acme", policy: { codeLength: config.defaults.codeLength } });
    expect(body.route).toEqual([expect.objectContaining({ channel: "sms", providers: ["console"] })]);
  });

  it("answers 1 for unknown ids", async () => {
    for (const argv of [
      ["services", "show", "svc_nope"],
      ["keys", "revoke", "key_nope"],
      ["keys", "create", "--service", "svc_nope"],
      ["keys", "list", "--service", "svc_nope"],
    ]) {
      const res = await run(...argv);
      expect(res.code, argv.join(" ")).toBe(1);
      expect(res.err).toMatch(/no (service|API key) \w+_nope/);
    }
  });

  it("answers 2 with the usage on stderr for bad usage", async () => {
    for (const argv of [
      ["keys"],
      ["keys", "rotate"],
      ["keys", "create"],
      ["keys", "create", "--admin", "--service", "svc_x"],
      ["keys", "create", "--service"],
      ["keys", "list", "--bogus"],
      ["keys", "revoke"],
      ["keys", "revoke", "a", "b"],
      ["services", "create"],
      ["services", "create", "--name", ""],
      ["services", "list", "extra"],
      ["services", "show"],
    ]) {
      const res = await run(...argv);
      expect(res.code, argv.join(" ")).toBe(2);
      expect(res.err).toContain("Usage: verifyd");
      expect(res.out).toBe("");
    }
  });

  it("prints the usage and answers 0 for --help, even without a valid configuration", async () => {
    const broken = () => {
      throw new ConfigError("VERIFYD_PORT: bad");
    };
    for (const argv of [
      ["keys", "--help"],
      ["keys", "create", "--help"],
      ["keys", "list", "-h"],
      ["keys", "revoke", "--help"],
      ["services", "--help"],
      ["services", "create", "--help"],
      ["services", "list", "--help"],
      ["services", "show", "--help"],
    ]) {
      const out: string[] = [];
      const code = await adminCommand(broken, argv, { write: (t) => out.push(t), writeErr: () => {} });
      expect(code, argv.join(" ")).toBe(0);
      expect(out.join("")).toContain(`Usage: verifyd ${argv[0]}`);
    }
    const err: string[] = [];
    expect(await adminCommand(broken, ["services", "list"], { write: () => {}, writeErr: (t) => err.push(t) })).toBe(78);
    expect(err.join("")).toContain("VERIFYD_PORT");
  });

  it("creates keys the API accepts", async () => {
    const serviceId = field((await run("services", "create", "--name", "Acme")).out, "id");
    const key = field((await run("keys", "create", "--service", serviceId)).out, "key");
    const runtime = await buildRuntime(config, { logger: createLogger("silent") });
    try {
      const get = (bearer: string) =>
        runtime.app.request("/v1/verifications/ver_x", { headers: { authorization: `Bearer ${bearer}` } });
      expect((await get(key)).status).toBe(404);
      expect((await get(`${key}x`)).status).toBe(401);
    } finally {
      await runtime.close();
    }
  });
});
