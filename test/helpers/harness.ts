import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { z } from "zod";
import type { AdapterType } from "../../src/channels/registry.js";
import { buildRuntime, type Runtime } from "../../src/compose.js";
import { loadConfig } from "../../src/config/env.js";
import { generateApiKey } from "../../src/core/api-keys.js";
import type { Store } from "../../src/core/store/index.js";
import { createLogger } from "../../src/observability/logger.js";
import { openConfiguredStore } from "../../src/store/backends.js";
import { FakeClock } from "./clock.js";
import { CapturingSender } from "./senders.js";
import { sharedBackendsEnv } from "./shared-backends.js";

export const ADMIN_KEY = "test-admin-key-0123456789abcdef";
export const TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef";

/** Every log line and response body written by any harness in this worker, for secrecy checks. */
export const transcript = { logs: [] as string[], bodies: [] as string[], codes: new Set<string>() };

export interface Harness {
  runtime: Runtime;
  clock: FakeClock;
  sender: CapturingSender;
  logs: string[];
  /** A capturing provider declared in the config file with `"type": "capture"`. */
  provider(name: string): CapturingSender;
  /**
   * A key of another service (`svc_other`), written through a second connection as an operator
   * would: for tests that a key sees only its own service, or that admin-only routes refuse it.
   */
  otherServiceKey(): Promise<{ authorization: string }>;
  /** The SQLite file behind this harness (unused when it runs on PostgreSQL, see `onPostgres`). */
  dbPath: string;
  onPostgres: boolean;
  /** Runs `read` on a second connection to the harness's database (SQLite or PostgreSQL), through the Store port. */
  withStore<T>(read: (store: Store) => Promise<T>): Promise<T>;
  /** Sends a request with the admin key and JSON body; records the response body. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  json<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T; headers: Headers }>;
  /** Starts a verification and returns its id and the code that was sent. */
  startVerification(to: string, extra?: Record<string, unknown>): Promise<{ id: string; code: string }>;
  close(): Promise<void>;
}

/**
 * A full verifyd (real SQLite file in a fresh temp folder, real limiter, real outbox) with a fake
 * clock and a capturing sender standing in for the console channel. `env` overrides configuration.
 * With VERIFYD_TEST_DATABASE_URL / VERIFYD_TEST_REDIS_URL (or VERIFYD_TEST_STORE=pg) it runs on a
 * fresh PostgreSQL database and Redis counters instead.
 */
export async function createHarness(env: Record<string, string> = {}, configFile?: object): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "verifyd-test-"));
  if (configFile) {
    writeFileSync(join(dir, "config.json"), JSON.stringify(configFile));
    env = { VERIFYD_CONFIG_FILE: join(dir, "config.json"), ...env };
  }
  const shared = await sharedBackendsEnv();
  const config = loadConfig({
    ...shared.env,
    VERIFYD_DB: join(dir, "verifyd.db"),
    VERIFYD_SECRET: TEST_SECRET,
    VERIFYD_ADMIN_KEY: ADMIN_KEY,
    VERIFYD_LOG_LEVEL: "debug",
    ...env,
  });
  const clock = new FakeClock();
  const sender = new CapturingSender();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      const line = chunk.toString();
      logs.push(line);
      transcript.logs.push(line);
      done();
    },
  });
  // Config-file providers of type "capture" become capturing senders, reachable through `provider(name)`.
  const captured = new Map<string, CapturingSender>();
  let latestCode: string | undefined;
  const capture: AdapterType = {
    schema: z.object({}).loose(),
    create: (_settings, deps) => {
      const s = new CapturingSender(deps.name);
      captured.set(deps.name, s);
      return s;
    },
  };
  const runtime = await buildRuntime(config, {
    clock,
    senders: [sender],
    logger: createLogger("debug", sink),
    adapterTypes: { capture },
  });
  for (const s of captured.values()) {
    const send = s.send.bind(s);
    s.send = async (message) => {
      transcript.codes.add(message.code);
      latestCode = message.code;
      return send(message);
    };
  }
  const originalSend = sender.send.bind(sender);
  sender.send = async (message) => {
    transcript.codes.add(message.code);
    latestCode = message.code;
    return originalSend(message);
  };

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] ??= "application/json";
    }
    const res = await runtime.app.request(path, init);
    const text = await res.clone().text();
    transcript.bodies.push(text);
    return res;
  };
  const json = async <T>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const res = await call(method, path, body, headers);
    return { status: res.status, body: (await res.json()) as T, headers: res.headers };
  };

  return {
    runtime,
    clock,
    sender,
    logs,
    dbPath: config.dbPath,
    onPostgres: config.databaseUrl !== undefined,
    async withStore(read) {
      const { store } = await openConfiguredStore({ ...config, secret: config.secret ?? TEST_SECRET });
      try {
        return await read(store);
      } finally {
        await store.close();
      }
    },
    async otherServiceKey() {
      const { store } = await openConfiguredStore({ ...config, secret: config.secret ?? TEST_SECRET });
      const { key, prefix, secretHash } = generateApiKey();
      try {
        await store.ensureService({ id: "svc_other", name: "Other", route: [] }, clock.now());
        const createdAt = clock.now();
        await store.insertApiKey({
          id: "key_other",
          serviceId: "svc_other",
          prefix,
          secretHash,
          label: "other",
          createdAt,
          revokedAt: null,
        });
      } finally {
        await store.close();
      }
      return { authorization: `Bearer ${key}` };
    },
    provider(name) {
      const s = captured.get(name);
      if (!s) throw new Error(`no capture provider "${name}" in the config file`);
      return s;
    },
    call,
    json,
    async startVerification(to, extra = {}) {
      const res = await json<{ id: string }>("POST", "/v1/verifications", { to, ...extra });
      if (res.status !== 201) throw new Error(`start failed: ${res.status} ${JSON.stringify(res.body)}`);
      if (latestCode === undefined) throw new Error("no message sent");
      return { id: res.body.id, code: latestCode };
    },
    async close() {
      await runtime.close();
      await shared.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
