import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env.js";
import { type ProbeListener, startProbeListener } from "../../src/http/probe-listener.js";
import type { ProblemInput } from "../../src/http/problem.js";
import { type RunningServer, startServer } from "../../src/main.js";
import { createLogger } from "../../src/observability/logger.js";

/** Polls `check` until it passes: an event awaited with a generous bound, never a fixed delay. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, boundMs = 20_000): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const get = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as Record<string, unknown> };
};

/**
 * Requests the probe port from another process while this thread's event loop is blocked for the
 * whole call (spawnSync): what an orchestrator sees of a server whose loop does not turn.
 */
function probeWhileBlocked(port: number, waitMs: number) {
  const script = `
    await new Promise((r) => setTimeout(r, ${waitMs}));
    const out = {};
    for (const path of ["/healthz", "/readyz"]) {
      const res = await fetch("http://127.0.0.1:${port}" + path);
      out[path] = { status: res.status, body: await res.json() };
    }
    process.stdout.write(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  if (child.status !== 0) throw new Error(child.stderr);
  type Seen = { status: number; body: Record<string, unknown> };
  return JSON.parse(child.stdout) as { "/healthz": Seen; "/readyz": Seen };
}

describe("the probe port's thread", () => {
  let listener: ProbeListener | undefined;
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
  });

  const start = async (readiness: () => Promise<ProblemInput | null>, stall = {}) => {
    listener = await startProbeListener({
      port: 0,
      host: "127.0.0.1",
      version: "9.9.9",
      readiness,
      onError: (err) => {
        throw err;
      },
      ...stall,
    });
    return listener.port;
  };

  it("answers /healthz at once and /readyz from the loop's last readiness check", async () => {
    let failing: ProblemInput | null = null;
    const port = await start(async () => failing);
    expect(await get(port, "/healthz")).toEqual({
      status: 200,
      type: "application/json",
      body: { status: "ok", version: "9.9.9" },
    });
    expect(
      (
        await eventually(
          () => get(port, "/readyz"),
          (r) => r.status === 200,
        )
      ).body,
    ).toEqual({ status: "ready" });

    failing = {
      code: "service_unavailable",
      detail: "not ready: database_writable",
      extensions: { checks: [{ name: "database_writable", detail: "read-only" }] },
    };
    const down = await eventually(
      () => get(port, "/readyz"),
      (r) => r.status === 503,
    );
    expect(down.status).toBe(503);
    expect(down.type).toBe("application/problem+json");
    expect(down.body).toMatchObject({
      code: "service_unavailable",
      checks: [{ name: "database_writable", detail: "read-only" }],
    });

    const other = await get(port, "/v1/verifications");
    expect(other.status).toBe(404);
    expect(other.body.code).toBe("route_not_found");
  });

  it("still answers while the event loop is blocked, and says not ready once it has not turned for the stall bound", async () => {
    const port = await start(async () => null, { readyStallMs: 200, liveStallMs: 60_000 });
    await eventually(
      () => get(port, "/readyz"),
      (r) => r.status === 200,
    );
    // The loop is blocked for at least the child's 600 ms wait before its probes arrive.
    const seen = probeWhileBlocked(port, 600);
    expect(seen["/healthz"].status).toBe(200);
    expect(seen["/readyz"].status).toBe(503);
    expect(seen["/readyz"].body).toMatchObject({ code: "service_unavailable", checks: [{ name: "event_loop" }] });
    // Turning again, the loop is ready again.
    expect(
      (
        await eventually(
          () => get(port, "/readyz"),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
  });

  it("fails liveness too once the loop has been stuck for the liveness bound", async () => {
    const port = await start(async () => null, { readyStallMs: 100, liveStallMs: 300 });
    const seen = probeWhileBlocked(port, 700);
    expect(seen["/healthz"].status).toBe(503);
    expect(seen["/healthz"].body).toMatchObject({ checks: [{ name: "event_loop" }] });
  });

  it("turns /readyz to 503 when told the server is shutting down", async () => {
    const port = await start(async () => null);
    await eventually(
      () => get(port, "/readyz"),
      (r) => r.status === 200,
    );
    listener?.notReady("not ready: shutting down");
    const answer = await get(port, "/readyz");
    expect(answer.status).toBe(503);
    expect(answer.body.detail).toBe("not ready: shutting down");
  });
});

describe("VERIFYD_PROBE_PORT", () => {
  let server: RunningServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), "verifyd-probe-port-"));
  afterEach(async () => {
    await server?.shutdown("test");
    server = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const env = (extra: Record<string, string>) => ({
    PORT: "0",
    VERIFYD_HOST: "127.0.0.1",
    VERIFYD_DB: join(dir, `verifyd-${Math.random()}.db`),
    VERIFYD_SECRET: "probe-port-secret-0123456789abcdef0123",
    VERIFYD_ADMIN_KEY: "probe-port-admin-0123456789",
    VERIFYD_LOG_LEVEL: "silent",
    ...extra,
  });

  it("is off unless set, and an empty value means unset", () => {
    expect(loadConfig(env({})).probePort).toBeUndefined();
    expect(loadConfig(env({ VERIFYD_PROBE_PORT: "" })).probePort).toBeUndefined();
    expect(loadConfig(env({ VERIFYD_PROBE_PORT: "9091" })).probePort).toBe(9091);
    expect(() => loadConfig(env({ VERIFYD_PROBE_PORT: "port" }))).toThrow(/VERIFYD_PROBE_PORT/);
    expect(() => loadConfig(env({ VERIFYD_PROBE_PORT: "70000" }))).toThrow(/VERIFYD_PROBE_PORT/);
  });

  it("serves the server's readiness on its own port, and is closed with the server", async () => {
    server = await startServer(loadConfig(env({ VERIFYD_PROBE_PORT: "0" })), { logger: createLogger("silent") });
    const probePort = server.probePort;
    expect(probePort).toBeGreaterThan(0);
    expect(probePort).not.toBe(server.port);
    expect(
      (
        await eventually(
          () => get(probePort as number, "/readyz"),
          (r) => r.status === 200,
        )
      ).body,
    ).toEqual({ status: "ready" });
    expect((await get(server.port, "/readyz")).status).toBe(200);
    expect(await server.shutdown("test")).toBe(true);
    server = undefined;
    await expect(fetch(`http://127.0.0.1:${probePort}/healthz`)).rejects.toThrow();
  });

  it("refuses to start on a taken port, naming the setting", async () => {
    server = await startServer(loadConfig(env({ VERIFYD_PROBE_PORT: "0" })), { logger: createLogger("silent") });
    const taken = String(server.port);
    await expect(startServer(loadConfig(env({ VERIFYD_PROBE_PORT: taken })), { logger: createLogger("silent") })).rejects.toThrow(
      /already in use.*VERIFYD_PROBE_PORT=/,
    );
  });
});
