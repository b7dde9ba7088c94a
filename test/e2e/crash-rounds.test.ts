import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seeded } from "../helpers/seeded.js";
import { until, within } from "../helpers/waiting.js";
import { freePort, startWebhookSink, type WebhookSink } from "../helpers/webhook-sink.js";

/**
 * Crash safety: several rounds of a concurrent stream of starts and checks against the built server,
 * each ended by SIGKILL at a seeded random moment, then a restart on the same database. Afterwards:
 * every start that was answered 201 exists, every approval that was answered stays approved, every
 * pending verification's code reached the gateway, and a code was sent twice only when its first
 * send was in flight at a kill (the at-least-once window), never after an acknowledged send.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ADMIN_KEY = `e2e-admin-${randomBytes(16).toString("hex")}`;
const HOOK_SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const ROUNDS = 4;
const WORKERS = 6;

type Payload = { verification_id: string; to: string; code: string };

describe("SIGKILL at random moments under load", () => {
  let sink: WebhookSink;
  let dir: string;
  let base: string;
  let env: Record<string, string>;
  let proc: ChildProcess | undefined;

  beforeAll(async () => {
    sink = await startWebhookSink();
    dir = mkdtempSync(join(tmpdir(), "verifyd-crash-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      VERIFYD_HOST: "127.0.0.1",
      VERIFYD_DB: join(dir, "verifyd.db"),
      VERIFYD_SECRET: randomBytes(36).toString("base64"),
      VERIFYD_ADMIN_KEY: ADMIN_KEY,
      VERIFYD_HTTP_CHANNEL_URL: sink.url,
      VERIFYD_HTTP_CHANNEL_SECRET: HOOK_SECRET,
      // Long enough that a loaded machine does not time a send out (a retry would be a legitimate
      // second send, not a crash's); the lease is raised to cover it, so in-flight rows wait ~5 s.
      VERIFYD_HTTP_CHANNEL_TIMEOUT: "2s",
      VERIFYD_DELIVERY_LEASE: "1s",
      VERIFYD_OUTBOX_POLL: "50ms",
      VERIFYD_ENV: "production",
      VERIFYD_LOG_LEVEL: "warn",
      VERIFYD_CODE_LENGTH: "10",
      VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000000/1h",
    };
  });
  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function boot(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ["dist/cli.js", "serve"], { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
    let errors = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    await until("GET /readyz = 200", async () => {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${errors}`);
      const res = await fetch(`${base}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
    return child;
  }

  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const payloads = () =>
    sink.requests.map((r) => ({ at: r.receivedAt, ...(new Webhook(HOOK_SECRET).verify(r.body, r.headers) as Payload) }));

  it("loses no accepted verification or approval and re-sends only what was in flight", async () => {
    const random = seeded(97);
    const accepted = new Map<string, string>(); // id → number
    const approved = new Set<string>();
    const kills: number[] = [];
    /** When each server after a kill answered ready: nothing reaches the gateway from a dead process's successor before it. */
    const readyAfterKill: number[] = [];
    let n = 0;

    for (let round = 0; round < ROUNDS; round++) {
      proc = await boot();
      if (round > 0) readyAfterKill.push(Date.now());
      const exited = new Promise((resolve) => proc?.once("exit", resolve));
      let alive = true;
      const worker = async () => {
        while (alive) {
          try {
            const to = `+1415555${String(1000 + (n++ % 9000)).slice(-4)}`;
            const started = await api("POST", "/v1/verifications", { to });
            if (started.status === 201) accepted.set(String(started.body.id), to);
            // Check something sent earlier with its code, as a user would.
            const sent = payloads().find((p) => !approved.has(p.verification_id) && accepted.has(p.verification_id));
            if (sent) {
              const check = await api("POST", `/v1/verifications/${sent.verification_id}/check`, { code: sent.code });
              // `already_approved`: an earlier check approved it but its answer was lost to a kill.
              if (check.status === 200 && check.body.status === "approved") approved.add(sent.verification_id);
            }
          } catch {
            return; // the server is gone: whatever was not answered is not counted
          }
        }
      };
      const workers = Array.from({ length: WORKERS }, worker);
      // The kill comes at a seeded point of the round's own progress, not after a fixed delay: on a
      // busy machine a second may hold no finished start at all. Each round has answered starts and an
      // approval before it is killed, so every round exercises both.
      const startsBefore = accepted.size;
      const approvalsBefore = approved.size;
      const target = 4 + Math.floor(random() * 16);
      await until(
        `round ${round}: ${target} starts answered and one approval`,
        () => (accepted.size - startsBefore >= target && approved.size > approvalsBefore ? true : undefined),
        1200,
        50,
      );
      kills.push(Date.now());
      proc.kill("SIGKILL");
      alive = false;
      await within(exited, 5_000, "the SIGKILLed server to exit");
      await Promise.all(workers);
    }

    expect(accepted.size, "the stream did real work").toBeGreaterThan(ROUNDS * 3);
    expect(approved.size).toBeGreaterThan(0);

    // The last restart: leases from the last kill expire and the outbox finishes what was due.
    proc = await boot();
    readyAfterKill.push(Date.now());
    await until(
      "every accepted verification's code at the gateway",
      () => {
        const got = new Set(payloads().map((p) => p.verification_id));
        return [...accepted.keys()].every((id) => got.has(id)) ? true : undefined;
      },
      300,
      100,
    );

    for (const [id, to] of accepted) {
      const read = await api("GET", `/v1/verifications/${id}`);
      expect(read.status, `${id} lost`).toBe(200);
      expect(read.body.to).toBe(to);
      if (approved.has(id)) expect(read.body.status, `${id} lost its approval`).toBe("approved");
      else expect(["pending", "approved"]).toContain(read.body.status);
    }

    // A second send of the same verification only when the first was in flight at a kill.
    const byVerification = new Map<string, number[]>();
    for (const p of payloads()) byVerification.set(p.verification_id, [...(byVerification.get(p.verification_id) ?? []), p.at]);
    for (const [id, times] of byVerification) {
      if (times.length < 2) continue;
      const first = times[0] as number;
      // In flight at a kill: sent by the killed process (it reached the gateway before the next process
      // was ready, however late a busy machine delivered its bytes) and not long before the kill (the
      // send's own timeout, with room for a loaded machine to record its result late).
      const inFlightAtKill = kills.some((k, i) => first > k - 5_000 && first < (readyAfterKill[i] as number));
      const trail = JSON.stringify({ sends: times.map((t) => t - first), kills: kills.map((k) => k - first) });
      expect(inFlightAtKill, `${id} sent ${times.length} times without a crash in between: ${trail}`).toBe(true);
    }
    proc.kill("SIGTERM");
  }, 120_000);
});
