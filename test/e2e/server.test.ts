import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sharedBackendsEnv } from "../helpers/shared-backends.js";
import { until, within } from "../helpers/waiting.js";
import { freePort, type SinkRequest, startWebhookSink, type WebhookSink } from "../helpers/webhook-sink.js";

/**
 * The built server (`node dist/cli.js serve`, built by the global setup) as a real process, in
 * production mode, sending codes through the http channel to a local webhook sink.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ADMIN_KEY = `e2e-admin-${randomBytes(16).toString("hex")}`;
const HOOK_SECRET = `whsec_${randomBytes(32).toString("base64")}`;

type Payload = { verification_id: string; to: string; channel: string; code: string; message: string };
type View = {
  id: string;
  status: string;
  approved_at: string | null;
  deliveries?: Array<{ id: string; status: string; error_code: string | null; tries: number }>;
};
type Check = { valid: boolean; status: string | null; reason: string | null };

interface Child {
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A signed, well-formed send of the given verification, or a thrown verification error. */
function verifiedPayload(req: SinkRequest): Payload {
  return new Webhook(HOOK_SECRET).verify(req.body, req.headers) as Payload;
}

describe("verifyd as a process", () => {
  let sink: WebhookSink;
  let dir: string;
  let env: Record<string, string>;
  let base: string;
  const children: Child[] = [];

  let shared: Awaited<ReturnType<typeof sharedBackendsEnv>>;

  beforeEach(async () => {
    sink = await startWebhookSink();
    shared = await sharedBackendsEnv();
    dir = mkdtempSync(join(tmpdir(), "verifyd-e2e-"));
    const port = await freePort(); // PORT=0 would work, but the server does not tell us the port it got
    base = `http://127.0.0.1:${port}`;
    env = {
      PATH: process.env.PATH ?? "", // nothing else from the test runner's environment leaks in
      PORT: String(port),
      VERIFYD_HOST: "127.0.0.1",
      VERIFYD_DB: join(dir, "verifyd.db"),
      VERIFYD_SECRET: randomBytes(36).toString("base64"),
      VERIFYD_ADMIN_KEY: ADMIN_KEY,
      VERIFYD_HTTP_CHANNEL_URL: sink.url,
      VERIFYD_HTTP_CHANNEL_SECRET: HOOK_SECRET,
      VERIFYD_ENV: "production", // refuses the console channel: sends can only go through http
      VERIFYD_LOG_LEVEL: "info",
      VERIFYD_DISPATCH_BUDGET: "500ms",
      // 10 digits so that "the code is not in the logs" cannot pass or fail by coincidence
      // (a 6-digit code can turn up inside a timestamp or an id).
      VERIFYD_CODE_LENGTH: "10",
      ...shared.env,
    };
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGKILL");
      await within(child.exited, 5000, "killing a leftover child");
    }
    await sink.close();
    await shared.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  function spawnServer(): Child {
    const proc = spawn(process.execPath, ["dist/cli.js", "serve"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    proc.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    proc.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.once("exit", (code, signal) => resolve({ code, signal }));
    });
    const child = { proc, output: () => output, exited };
    children.push(child);
    return child;
  }

  /** Starts the server and polls /readyz (the process needs a moment to boot and migrate). */
  async function startServer(): Promise<Child> {
    const child = spawnServer();
    await until("GET /readyz = 200", async () => {
      if (child.proc.exitCode !== null) throw new Error(`server exited with ${child.proc.exitCode}:\n${child.output()}`);
      const res = await fetch(`${base}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
    return child;
  }

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  it("sends a signed code through the http channel, checks it, and keeps state across a graceful restart", async () => {
    const TO = "+14155550142";
    const first = await startServer();

    const started = await api<View>("POST", "/v1/verifications", { to: TO });
    expect(started.status).toBe(201);
    expect(started.body.status).toBe("pending");
    const { id } = started.body;

    await until("the send to reach the sink", () => (sink.requests.length > 0 ? true : undefined));
    expect(sink.requests).toHaveLength(1);
    const [send] = sink.requests as [SinkRequest];
    expect(send.method).toBe("POST");
    const payload = verifiedPayload(send);
    expect(payload).toMatchObject({ verification_id: id, to: TO, channel: "sms" });
    expect(payload.code).toMatch(/^\d{10}$/);
    expect(payload.message).toContain(payload.code);

    // The delivery id is the webhook-id, so a gateway can de-duplicate retries.
    const read = await api<View>("GET", `/v1/verifications/${id}`);
    expect(read.body.deliveries).toHaveLength(1);
    expect(read.body.deliveries?.[0]).toMatchObject({ id: send.headers["webhook-id"], status: "accepted" });

    const last = payload.code.at(-1) === "0" ? "1" : "0";
    const wrongCode = payload.code.slice(0, -1) + last;
    const wrong = await api<Check>("POST", `/v1/verifications/${id}/check`, { code: wrongCode });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toMatchObject({ valid: false, status: "pending", reason: "wrong_code" });
    const right = await api<Check>("POST", `/v1/verifications/${id}/check`, { code: payload.code });
    expect(right.status).toBe(200);
    expect(right.body).toMatchObject({ valid: true, status: "approved", reason: null });

    first.proc.kill("SIGTERM");
    expect(await within(first.exited, 10_000, "graceful shutdown")).toEqual({ code: 0, signal: null });
    expect(first.output()).toContain('"msg":"stopped"');

    const second = await startServer();
    const after = await api<View>("GET", `/v1/verifications/${id}`);
    expect(after.status).toBe(200);
    expect(after.body.status).toBe("approved");
    expect(after.body.approved_at).not.toBeNull();
    expect(sink.requests).toHaveLength(1); // an accepted send is not repeated by the restarted outbox

    // The output was captured (so the next check means something) and never holds the code.
    const output = first.output() + second.output();
    expect(output).toContain("verifyd listening");
    expect(output).toContain("delivery accepted");
    expect(output).not.toContain(payload.code);
  }, 30_000);

  it("loses no send when killed with SIGKILL while the delivery waits for a retry", async () => {
    const TO = "+14155550143";
    sink.setDefault(503, { body: "gateway down" });
    const first = await startServer();

    const started = await api<View>("POST", "/v1/verifications", { to: TO });
    expect(started.status).toBe(201);
    const { id } = started.body;

    // Kill only once the 503 is recorded: the row is then `queued` for a retry about 1 s later.
    const queued = await until("the delivery to be queued for retry", async () => {
      const d = (await api<View>("GET", `/v1/verifications/${id}`)).body.deliveries?.[0];
      return d?.status === "queued" ? d : undefined;
    });
    first.proc.kill("SIGKILL");
    expect(await within(first.exited, 5000, "SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
    expect(queued.error_code).toBe("http_503");

    const refused = sink.requests.map(verifiedPayload);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.every((p) => p.verification_id === id)).toBe(true);
    const { code } = refused[0] as Payload;

    const beforeRestart = sink.requests.length;
    sink.setDefault(200);
    const second = await startServer();

    // Outbox: a poll every second, and the retry was due ~1 s after the 503.
    const resent = await until(
      "the queued send to be retried after the restart",
      () => sink.requests.slice(beforeRestart).find((r) => r.headers["webhook-id"] === queued.id),
      150,
    );
    expect(verifiedPayload(resent)).toMatchObject({ verification_id: id, to: TO, code });

    const check = await api<Check>("POST", `/v1/verifications/${id}/check`, { code });
    expect(check.body).toMatchObject({ valid: true, status: "approved" });
    const read = await api<View>("GET", `/v1/verifications/${id}`);
    expect(read.body.deliveries).toHaveLength(1);
    expect(read.body.deliveries?.[0]).toMatchObject({ id: queued.id, status: "accepted" });
    expect(read.body.deliveries?.[0]?.tries).toBeGreaterThanOrEqual(2);
    expect(first.output() + second.output()).not.toContain(code);
  }, 30_000);
});
