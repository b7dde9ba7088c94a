import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ServerProcess, spawnServer, waitReady } from "../helpers/server-process.js";
import { until, within } from "../helpers/waiting.js";
import { freePort, startWebhookSink, type WebhookSink } from "../helpers/webhook-sink.js";

/**
 * SIGTERM while starts are in flight against a slow provider (the built server as a process):
 * accepted requests finish, the process exits 0, and no accepted verification loses its send.
 */

const ADMIN_KEY = `e2e-admin-${randomBytes(16).toString("hex")}`;
const HOOK_SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const PROVIDER_DELAY_MS = 700;

type View = { id: string; status: string; deliveries?: Array<{ status: string }> };
type Outcome = { sentBeforeSignal: boolean; status?: number; body?: View; error?: string };

type Child = ServerProcess;

describe("graceful shutdown under load", () => {
  let sink: WebhookSink;
  let dir: string;
  const children: Child[] = [];

  beforeEach(async () => {
    sink = await startWebhookSink();
    dir = mkdtempSync(join(tmpdir(), "verifyd-shutdown-"));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGKILL");
      await within(child.exited, 5000, "killing a leftover child");
    }
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("finishes every accepted start, exits 0, and sends the queued deliveries after a restart", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      VERIFYD_HOST: "127.0.0.1",
      VERIFYD_DB: join(dir, "verifyd.db"),
      VERIFYD_SECRET: randomBytes(36).toString("base64"),
      VERIFYD_ADMIN_KEY: ADMIN_KEY,
      VERIFYD_ENV: "production",
      VERIFYD_HTTP_CHANNEL_URL: sink.url,
      VERIFYD_HTTP_CHANNEL_SECRET: HOOK_SECRET,
      VERIFYD_OUTBOX_POLL: "100ms",
      VERIFYD_LIMIT_STARTS_PER_IP: "1000/1h",
      VERIFYD_LOG_LEVEL: "info",
    };
    const startServer = async (): Promise<Child> => {
      const child = spawnServer(env);
      children.push(child);
      await waitReady(child, base);
      return child;
    };

    let signalled = false;
    /** One start; a response must be complete JSON, a refused connection is recorded as an error. */
    const start = async (n: number): Promise<Outcome> => {
      const sentBeforeSignal = !signalled;
      try {
        const res = await fetch(`${base}/v1/verifications`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ to: `+1415555${String(1000 + n).padStart(4, "0")}` }),
        });
        return { sentBeforeSignal, status: res.status, body: (await res.json()) as View };
      } catch (err) {
        return { sentBeforeSignal, error: String((err as Error).cause ?? err) };
      }
    };

    // The slow provider holds every start in its handler (the dispatch budget outlasts the delay);
    // the first four sends fail transiently, so their deliveries are still queued at shutdown.
    for (let i = 0; i < 4; i++) sink.respondWith(503, { delayMs: PROVIDER_DELAY_MS });
    sink.setDefault(200, { delayMs: PROVIDER_DELAY_MS });

    const first = await startServer();
    const inFlight = Array.from({ length: 8 }, (_, n) => start(n));
    await until("every start to reach the provider", () => (sink.requests.length >= 8 ? true : undefined));
    first.proc.kill("SIGTERM");
    signalled = true;
    const afterSignal = Array.from({ length: 8 }, (_, n) => start(100 + n)); // the stream goes on
    const outcomes = await Promise.all([...inFlight, ...afterSignal]);

    expect(await within(first.exited, 15_000, "the drain")).toEqual({ code: 0, signal: null });
    expect(first.output()).toContain('"msg":"stopped"');
    const before = outcomes.filter((o) => o.sentBeforeSignal);
    expect(before).toHaveLength(8);
    for (const outcome of before) {
      expect(outcome.error).toBeUndefined(); // no reset for a request the server had accepted
      expect(outcome.status).toBe(201);
      expect(outcome.body?.id).toMatch(/^ver_/);
    }
    // After the signal a start is either refused at connect or answered in full; nothing in between.
    for (const outcome of outcomes.filter((o) => !o.sentBeforeSignal)) {
      if (outcome.error === undefined) expect(outcome.body?.id).toMatch(/^ver_/);
      else expect(outcome.error).toMatch(/ECONNREFUSED|ECONNRESET|other side closed/);
    }
    const accepted = outcomes.flatMap((o) => (o.status === 201 && o.body ? [o.body.id] : []));

    await startServer();
    for (const id of accepted) {
      await until(`the send of ${id}`, async () => {
        const res = await fetch(`${base}/v1/verifications/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        const view = (await res.json()) as View;
        return view.deliveries?.some((d) => d.status === "accepted") ? true : undefined;
      });
    }
  });
});

/**
 * SIGTERM ends the process within VERIFYD_SHUTDOWN_TIMEOUT whatever stdout does: its reader has gone
 * (`verifyd serve | head -2`, writes fail with EPIPE) or never reads (the pipe is full).
 */
describe("shutdown whatever stdout does", () => {
  const SHUTDOWN_TIMEOUT_MS = 2000;
  let dir: string;
  let child: ServerProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-stdout-"));
  });
  afterEach(async () => {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGKILL");
    if (child) await within(child.exited, 5000, "killing a leftover child");
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve() {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = spawnServer({
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      VERIFYD_HOST: "127.0.0.1",
      VERIFYD_DB: join(dir, "verifyd.db"),
      VERIFYD_SECRET: randomBytes(36).toString("base64"),
      VERIFYD_ADMIN_KEY: ADMIN_KEY,
      VERIFYD_ENV: "production",
      VERIFYD_SENDER: "dryrun",
      VERIFYD_ALLOW_DRYRUN: "true",
      VERIFYD_LOG_LEVEL: "info",
      VERIFYD_SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms`,
    });
    await waitReady(child, base);
    await until("the first log lines", () =>
      (child as ServerProcess).output().includes("verifyd listening") ? true : undefined,
    );
    return { child, base };
  }

  /** Generous: the shutdown timeout plus 20 s for a busy machine; a hang lasts forever. */
  const BOUND_MS = SHUTDOWN_TIMEOUT_MS + 20_000;

  it("exits 0 on SIGTERM after the reader of stdout has gone", async () => {
    const { child } = await serve();
    child.proc.stdout?.destroy();
    child.proc.kill("SIGTERM");
    expect(await within(child.exited, BOUND_MS, "the exit after SIGTERM")).toEqual({ code: 0, signal: null });
  }, 60_000);

  it("exits 0 on SIGTERM while nobody reads stdout and the pipe is full", async () => {
    const { child, base } = await serve();
    child.proc.stdout?.pause();
    // Each request writes an access-log line: ~2000 of them fill the pipe and the reader's buffer many times over.
    for (let batch = 0; batch < 40; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${base}/healthz`).then((r) => r.status)));
      expect(answers.every((s) => s === 200)).toBe(true); // a full stdout does not stop the server
    }
    child.proc.kill("SIGTERM");
    expect(await within(child.exited, BOUND_MS, "the exit after SIGTERM")).toEqual({ code: 0, signal: null });
  }, 120_000);
});
