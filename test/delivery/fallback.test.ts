import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCodeKit } from "../../src/core/codes.js";
import type { RouteStep, Service } from "../../src/core/model.js";
import type { Limiter } from "../../src/core/ports.js";
import type { Sender } from "../../src/core/sender.js";
import { DEFAULT_SETTINGS } from "../../src/core/service-settings.js";
import type { Store } from "../../src/core/store/index.js";
import { createVerificationService } from "../../src/core/verification/index.js";
import { createOutbox, type Outbox } from "../../src/delivery/outbox.js";
import { createLogger } from "../../src/observability/logger.js";
import { uuidIds } from "../../src/runtime.js";
import { sqliteStores } from "../../src/store/backends.js";
import { migrateSqlite, openSqlite } from "../../src/store/sqlite/open.js";
import { FakeClock } from "../helpers/clock.js";
import { CapturingSender } from "../helpers/senders.js";
import { testVault } from "../store/fixtures.js";

const unlimited: Limiter = {
  consume: async (rule) => ({ rule, allowed: true, limit: 1e9, remaining: 1e9, windowMs: 60_000, resetMs: 0 }),
  peek: async (rule) => ({ rule, allowed: true, limit: 1e9, remaining: 1e9, windowMs: 60_000, resetMs: 0 }),
  reset: async () => {},
};

/** Each trigger that moves a route to its next step, on a real store with a fake clock. */
describe("route fallback", () => {
  let dir: string;
  let store: Store;
  let clock: FakeClock;
  let outbox: Outbox;
  const senders = new Map<string, CapturingSender>();
  const codes = createCodeKit("fallback-test-secret-0123456789abcdefghij");

  const setup = (route: RouteStep[], breakerFailures = 5) => {
    for (const name of route.flatMap((s) => s.providers)) senders.set(name, new CapturingSender(name));
    outbox = createOutbox({
      store,
      clock,
      ids: uuidIds,
      codes,
      senders: senders as Map<string, Sender>,
      logger: createLogger("silent"),
      breakerFailures,
    });
    const service: Service = {
      id: "svc_test",
      name: "Acme",
      policy: { codeLength: 6, ttlMs: 600_000, maxChecks: 5, maxSends: 5, resendCooldownMs: 30_000, resendPolicy: "same" },
      route,
      countryRoutes: {},
      settings: DEFAULT_SETTINGS,
    };
    const verifications = createVerificationService({
      store,
      clock,
      ids: uuidIds,
      codes,
      limiter: unlimited,
      dispatcher: outbox,
    });
    return (to = "+14155550100") => verifications.start(service, { to });
  };
  const sender = (name: string) => senders.get(name) as CapturingSender;
  const rows = async (id: string) =>
    (await store.listDeliveries(id)).map((d) => `${d.step}:${d.provider}:${d.status}:${d.errorCode ?? ""}`);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-fallback-"));
    const sqlite = openSqlite(join(dir, "f.db"));
    migrateSqlite(sqlite.db);
    store = sqliteStores(sqlite, testVault).store;
    clock = new FakeClock();
    senders.clear();
    await store.ensureService({ id: "svc_test", name: "Acme", route: [] }, clock.now());
  });
  afterEach(async () => {
    await outbox.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const waThenSms: RouteStep[] = [
    { channel: "whatsapp", providers: ["wa"], fallbackAfterMs: 30_000 },
    { channel: "sms", providers: ["sms"] },
  ];

  it("a failed status webhook moves to the next step with the same code", async () => {
    const start = setup(waThenSms);
    const v = await start();
    await outbox.applyStatus("wa", { providerMessageId: "msg_1", status: "failed", errorCode: "131026", permanent: true });
    expect(sender("sms").messages).toHaveLength(1);
    expect(sender("sms").lastCode()).toBe(sender("wa").lastCode());
    expect(await rows(v.id)).toEqual(["0:wa:failed:131026", "1:sms:accepted:"]);
  });

  it("no delivery receipt within fallbackAfter moves to the next step, not before", async () => {
    const start = setup(waThenSms);
    const v = await start();
    clock.advance(29_999);
    await outbox.runOnce();
    expect(sender("sms").messages).toHaveLength(0);
    clock.advance(1);
    await outbox.runOnce();
    expect(sender("sms").messages).toHaveLength(1);
    expect(await rows(v.id)).toEqual(["0:wa:accepted:no_delivery_receipt", "1:sms:accepted:"]);
  });

  it("a delivered receipt in time keeps the route where it is", async () => {
    const start = setup(waThenSms);
    await start();
    await outbox.applyStatus("wa", { providerMessageId: "msg_1", status: "delivered" });
    clock.advance(60_000);
    await outbox.runOnce();
    expect(sender("sms").messages).toHaveLength(0);
  });

  it("approval stops the route", async () => {
    const start = setup(waThenSms);
    const v = await start();
    expect(await store.approve(v.id, clock.now())).toBe(true);
    clock.advance(60_000);
    await outbox.runOnce();
    await outbox.applyStatus("wa", { providerMessageId: "msg_1", status: "failed" });
    expect(sender("sms").messages).toHaveLength(0);
  });

  it("an RCS step whose destination is not capable is skipped without a send", async () => {
    const start = setup([
      { channel: "rcs", providers: ["rbm"] },
      { channel: "sms", providers: ["sms"] },
    ]);
    const rbm = sender("rbm") as CapturingSender & Sender;
    const asked: string[] = [];
    rbm.capability = async (to) => {
      asked.push(to);
      return "not_capable";
    };
    const v = await start();
    expect(asked).toEqual(["+14155550100"]);
    expect(rbm.messages).toHaveLength(0);
    expect(sender("sms").messages).toHaveLength(1);
    expect(await rows(v.id)).toEqual(["0:rbm:failed:not_capable", "1:sms:accepted:"]);
  });

  it("a provider outage opens its circuit and the step's second provider takes over", async () => {
    const start = setup([{ channel: "sms", providers: ["primary", "backup"] }], 2);
    const outage = { kind: "retry" as const, error: { code: "http_503", message: "down" } };
    sender("primary").script.push(outage, outage, outage);
    const first = await start("+14155550101");
    const second = await start("+14155550102");
    expect(await rows(first.id)).toEqual(["0:primary:queued:http_503"]);
    expect(await rows(second.id)).toEqual(["0:primary:queued:http_503"]);
    // Two consecutive failures opened the circuit: the third verification never touches the primary.
    const third = await start("+14155550103");
    expect(sender("primary").messages).toHaveLength(2);
    expect(sender("backup").messages.map((m) => m.to)).toEqual(["+14155550103"]);
    expect(await rows(third.id)).toEqual(["0:primary:failed:circuit_open", "0:backup:accepted:"]);
    // The queued retries of the first two also go to the backup while the circuit is open.
    clock.advance(5_000);
    await outbox.runOnce();
    expect(
      sender("backup")
        .messages.map((m) => m.to)
        .sort(),
    ).toEqual(["+14155550101", "+14155550102", "+14155550103"]);
  });

  it("a misconfigured provider hands over to the next provider of the step", async () => {
    const start = setup([{ channel: "sms", providers: ["broken", "good"] }]);
    sender("broken").script.push({ kind: "misconfigured", error: { code: "20003", message: "auth" } });
    const v = await start();
    expect(await rows(v.id)).toEqual(["0:broken:failed:20003", "0:good:accepted:"]);
  });

  it("a permanent rejection skips the step's other providers", async () => {
    const start = setup([
      { channel: "whatsapp", providers: ["wa1", "wa2"] },
      { channel: "sms", providers: ["sms"] },
    ]);
    sender("wa1").script.push({ kind: "rejected", error: { code: "131026", message: "not on WhatsApp" } });
    const v = await start();
    expect(sender("wa2").messages).toHaveLength(0);
    expect(await rows(v.id)).toEqual(["0:wa1:failed:131026", "1:sms:accepted:"]);
  });
});
