import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createDryrunSender } from "../../src/channels/dryrun.js";
import { loadConfig } from "../../src/config/env.js";
import { ConfigError } from "../../src/config/errors.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import { until } from "../helpers/waiting.js";

const SECRET = "s".repeat(40);
const ADMIN = "a".repeat(30);
const PRODUCTION = { VERIFYD_ENV: "production", VERIFYD_SECRET: SECRET, VERIFYD_ADMIN_KEY: ADMIN };

const configError = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  return expect.unreachable("loadConfig accepted the environment");
};

const message = (verificationId: string, code: string) => ({
  deliveryId: `dlv_${verificationId}`,
  verificationId,
  to: "+14155550100",
  channel: "sms" as const,
  code,
  body: `Your code is ${code}`,
  locale: "en",
  expiresAt: 0,
});

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
const tempDir = () => {
  dir = mkdtempSync(join(tmpdir(), "verifyd-dryrun-"));
  return dir;
};

describe("dryrun configuration", () => {
  it("is the default route's channel in development when selected", () => {
    const c = loadConfig({ VERIFYD_SENDER: "dryrun", VERIFYD_DRYRUN_CAPTURE_FILE: "/tmp/codes" });
    expect(c.sender).toBe("dryrun");
    expect(c.dryrun).toEqual({ enabled: true, captureFile: "/tmp/codes" });
    expect(c.route).toEqual([{ channel: "sms", providers: ["dryrun"], fallbackAfterMs: null }]);
  });

  it("is refused in production without VERIFYD_ALLOW_DRYRUN=true", () => {
    expect(configError({ ...PRODUCTION, VERIFYD_SENDER: "dryrun" })).toContain("VERIFYD_ALLOW_DRYRUN");
    expect(configError({ ...PRODUCTION, VERIFYD_SENDER: "dryrun", VERIFYD_ALLOW_DRYRUN: "false" })).toContain(
      "VERIFYD_ALLOW_DRYRUN",
    );
    const allowed = loadConfig({ ...PRODUCTION, VERIFYD_SENDER: "dryrun", VERIFYD_ALLOW_DRYRUN: "true" });
    expect(allowed.dryrun.enabled).toBe(true);
  });

  it("refuses the capture file in production without the allow flag, and without the dryrun sender", () => {
    const capture = { VERIFYD_SENDER: "dryrun", VERIFYD_DRYRUN_CAPTURE_FILE: "/tmp/codes" };
    expect(configError({ ...PRODUCTION, ...capture })).toContain("VERIFYD_ALLOW_DRYRUN");
    expect(loadConfig({ ...PRODUCTION, ...capture, VERIFYD_ALLOW_DRYRUN: "true" }).dryrun.captureFile).toBe("/tmp/codes");
    expect(configError({ VERIFYD_DRYRUN_CAPTURE_FILE: "/tmp/codes" })).toContain("VERIFYD_DRYRUN_CAPTURE_FILE");
  });

  it("is off unless selected, and the allow flag takes only true or false", () => {
    expect(loadConfig({}).dryrun.enabled).toBe(false);
    expect(configError({ VERIFYD_ALLOW_DRYRUN: "yes" })).toContain("VERIFYD_ALLOW_DRYRUN");
  });
});

describe("dryrun sender", () => {
  it("accepts every message with a distinct provider message id", async () => {
    const sender = createDryrunSender();
    const signal = new AbortController().signal;
    const a = await sender.send(message("ver_a", "123456"), signal);
    const b = await sender.send(message("ver_b", "654321"), signal);
    expect(a.kind).toBe("accepted");
    expect(b.kind).toBe("accepted");
    const ids = [a, b].map((r) => (r.kind === "accepted" ? r.providerMessageId : null));
    expect(ids[0]).toMatch(/^dryrun-/);
    expect(ids[1]).toMatch(/^dryrun-/);
    expect(ids[0]).not.toBe(ids[1]);
    await sender.close();
  });

  it("appends one `<verification_id> <code> <to>` line per send to the capture file", async () => {
    const file = join(tempDir(), "codes");
    const sender = createDryrunSender({ captureFile: file });
    const signal = new AbortController().signal;
    await sender.send(message("ver_a", "123456"), signal);
    await sender.send(message("ver_b", "0042"), signal);
    await sender.close();
    const again = createDryrunSender({ captureFile: file });
    await again.send(message("ver_c", "999999"), signal);
    await again.close();
    expect(readFileSync(file, "utf8")).toBe("ver_a 123456 +14155550100\nver_b 0042 +14155550100\nver_c 999999 +14155550100\n");
  });

  it("keeps accepting when the capture file cannot be opened, and says so once", async () => {
    const errors: Error[] = [];
    const sender = createDryrunSender({
      captureFile: join(tempDir(), "missing-folder", "codes"),
      onCaptureError: (err) => errors.push(err),
    });
    const first = await sender.send(message("ver_a", "123456"), new AbortController().signal);
    expect(first.kind).toBe("accepted");
    await new Promise((resolve) => setImmediate(resolve)); // let the failed open report
    await sender.close();
    expect(errors).toHaveLength(1);
  });
});

describe("dryrun over HTTP", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("delivers through the dryrun channel and the captured code approves the verification", async () => {
    const file = join(tempDir(), "codes");
    h = await createHarness({ VERIFYD_SENDER: "dryrun", VERIFYD_DRYRUN_CAPTURE_FILE: file });
    const started = await h.json<{ id: string; status: string }>("POST", "/v1/verifications", { to: "+14155550100" });
    expect(started.status).toBe(201);
    const read = await h.json<{ deliveries: { provider: string; status: string }[] }>(
      "GET",
      `/v1/verifications/${started.body.id}`,
    );
    expect(read.body.deliveries).toMatchObject([{ provider: "dryrun", status: "accepted" }]);
    // The capture stream is buffered: wait for its write to land (file I/O, not domain time).
    const line = await until("the captured code", () => {
      const text = existsSync(file) ? readFileSync(file, "utf8") : "";
      return text.endsWith("\n") ? text : undefined;
    });
    expect(line.split("\n")).toHaveLength(2);
    const [id, code] = line.trim().split(" ");
    expect(id).toBe(started.body.id);
    expect(code).toMatch(/^\d{6}$/);
    expect(h.sender.messages).toHaveLength(0); // the stand-in console channel saw nothing
    const checked = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${id}/check`, { code });
    expect(checked.body.valid).toBe(true);
  });
});
