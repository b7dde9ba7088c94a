import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCodeKit } from "../../src/core/codes.js";
import type { Service } from "../../src/core/model.js";
import type { Limiter } from "../../src/core/ports.js";
import { DEFAULT_SETTINGS } from "../../src/core/service-settings.js";
import type { Store } from "../../src/core/store/index.js";
import { createVerificationService } from "../../src/core/verification/index.js";
import { createOutbox, type Outbox } from "../../src/delivery/outbox.js";
import { createApp } from "../../src/http/app.js";
import { createLogger } from "../../src/observability/logger.js";
import { uuidIds } from "../../src/runtime.js";
import { sqliteStores } from "../../src/store/backends.js";
import { migrateSqlite, type OpenedSqlite, openSqlite } from "../../src/store/sqlite/open.js";
import { FakeClock } from "../helpers/clock.js";
import { CapturingSender } from "../helpers/senders.js";
import { until } from "../helpers/waiting.js";
import { testVault } from "../store/fixtures.js";

/**
 * A start whose caller closes its connection: over a real socket (@hono/node-server), the start is
 * held at a chosen step with a deferred, the client hangs up, the test waits until the server has
 * seen it, then lets the start go on.
 */

const TO = "+14155550100";
const LEASE_MS = 30_000;

const openLimiter: Limiter = {
  consume: async (rule) => ({ rule, allowed: true, limit: 1e9, remaining: 1e9, windowMs: 60_000, resetMs: 0 }),
  peek: async (rule) => ({ rule, allowed: true, limit: 1e9, remaining: 1e9, windowMs: 60_000, resetMs: 0 }),
  reset: async () => {},
};

const service: Service = {
  id: "svc_test",
  name: "Acme",
  policy: { codeLength: 6, ttlMs: 600_000, maxChecks: 5, maxSends: 5, resendCooldownMs: 30_000, resendPolicy: "same" },
  route: [{ channel: "sms", providers: ["sms"] }],
  countryRoutes: {},
  settings: DEFAULT_SETTINGS,
};

/** A gate a held step waits at: `reached` settles when the step is called, `open()` lets it go on. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  let arrive = () => {};
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const wait = () => {
    arrive();
    return opened;
  };
  return { reached, open, wait };
}

/** `store` with `method` held at `g` before it runs. */
function holding(store: Store, method: keyof Store, g: ReturnType<typeof gate>): Store {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (name !== method || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        await g.wait();
        return value.apply(target, args);
      };
    },
  });
}

describe("a start whose caller left", () => {
  let dir: string;
  let sqlite: OpenedSqlite;
  let store: Store;
  let clock: FakeClock;
  let sender: CapturingSender;
  let outbox: Outbox;
  let server: ReturnType<typeof serve> | undefined;
  const codes = createCodeKit("caller-gone-test-secret-0123456789abcdef");

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-caller-gone-"));
    sqlite = openSqlite(join(dir, "v.db"));
    migrateSqlite(sqlite.db);
    store = sqliteStores(sqlite, testVault).store;
    clock = new FakeClock();
    sender = new CapturingSender("sms");
    outbox = createOutbox({
      store,
      clock,
      ids: uuidIds,
      codes,
      senders: new Map([["sms", sender]]),
      logger: createLogger("silent"),
      leaseMs: LEASE_MS,
      dispatchBudgetMs: 3_600_000,
    });
    await store.ensureService({ id: service.id, name: service.name, route: service.route }, clock.now());
  });
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    await outbox.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Serves the HTTP app over `served` (the store the start runs on) on a real socket; resolves to
   * the port, the server's view of each request, and each request's answer as the app produced it.
   */
  async function listen(served: Store) {
    const verifications = createVerificationService({
      store: served,
      clock,
      ids: uuidIds,
      codes,
      limiter: openLimiter,
      dispatcher: outbox,
    });
    const app = createApp({
      verifications,
      store: served,
      clock,
      limiter: openLimiter,
      logger: createLogger("silent"),
      authenticate: async () => ({
        key: { id: "key_test", serviceId: service.id, prefix: "test", revokedAt: null },
        service,
        admin: false,
      }),
      factors: {} as never,
      optOuts: {} as never,
      retention: {} as never,
      analytics: {} as never,
    });
    const requests: Request[] = [];
    const answers: Promise<Response>[] = [];
    server = serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, env) => {
        requests.push(req);
        const answer = Promise.resolve(app.fetch(req, env));
        answers.push(answer);
        return answer;
      },
    });
    await new Promise((resolve) => server?.once("listening", resolve));
    return { port: (server.address() as AddressInfo).port, requests, answers };
  }

  /** Sends a start and hangs up once `held` is reached; resolves when the server has seen the hang-up. */
  async function startThenHangUp(port: number, held: Promise<void>, requests: Request[]) {
    const body = JSON.stringify({ to: TO });
    const req = http.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/v1/verifications",
      headers: { authorization: "Bearer test", "content-type": "application/json", "content-length": body.length },
    });
    req.on("error", () => {}); // the hang-up is ours
    req.end(body);
    await held;
    req.destroy();
    await until("the server to see the caller leave", () => (requests[0]?.signal.aborted ? true : undefined));
  }

  const rows = (table: "verifications" | "deliveries") =>
    sqlite.raw.prepare(`select status from ${table}`).all() as { status: string }[];

  /** Lets the claimed first delivery's lease run out and the outbox worker pass over it. */
  async function afterTheLease() {
    clock.advance(LEASE_MS + 1);
    await outbox.runOnce();
  }

  it("writes and sends nothing when the caller left before the write", async () => {
    const g = gate();
    const { port, requests, answers } = await listen(holding(store, "findPendingByDestination", g));
    await startThenHangUp(port, g.reached, requests);
    g.open();
    expect((await answers[0])?.status).toBe(499);
    await afterTheLease();
    expect(rows("verifications")).toEqual([]);
    expect(sender.messages).toEqual([]);
  });

  it("closes the verification unsent when the caller left while the write was committing", async () => {
    const g = gate();
    const { port, requests, answers } = await listen(holding(store, "createVerification", g));
    await startThenHangUp(port, g.reached, requests);
    g.open();
    expect((await answers[0])?.status).toBe(499);
    expect(rows("verifications")).toEqual([{ status: "canceled" }]);
    await afterTheLease();
    expect(rows("deliveries")).toEqual([{ status: "canceled" }]);
    expect(sender.messages).toEqual([]);
  });

  it("closes the start unsent when the caller's hang-up reached the server right behind its request", async () => {
    const { port, answers } = await listen(store);
    // Blocks this process (the server) until a client has connected, sent a start and hung up, so
    // the request and the hang-up wait together in the server's socket. The server reads the request
    // in one turn (whose commit writes the start) and the hang-up only in the next.
    const body = JSON.stringify({ to: TO });
    const request = `POST /v1/verifications HTTP/1.1\r\nhost: x\r\nauthorization: Bearer test\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    const client = `const s = require("node:net").connect(${port}, "127.0.0.1", () => s.end(${JSON.stringify(request)}, () => process.exit(0)));`;
    execFileSync(process.execPath, ["-e", client], { timeout: 60_000 });
    await until("the start to be answered", () => answers[0]);
    expect((await answers[0])?.status).toBe(499);
    expect(rows("verifications")).toEqual([{ status: "canceled" }]);
    await afterTheLease();
    expect(sender.messages).toEqual([]);
  });

  it("still sends a start whose write committed before the caller left", async () => {
    const g = gate();
    const send = sender.send.bind(sender);
    sender.send = async (message) => {
      await g.wait();
      return send(message);
    };
    const { port, requests, answers } = await listen(store);
    await startThenHangUp(port, g.reached, requests);
    g.open();
    expect((await answers[0])?.status).toBe(201);
    expect(sender.messages.map((m) => m.to)).toEqual([TO]);
    expect(rows("verifications")).toEqual([{ status: "pending" }]);
  });
});
