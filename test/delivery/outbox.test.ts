import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createCodeKit } from "../../src/core/codes.js";
import type { Service } from "../../src/core/model.js";
import type { Limiter } from "../../src/core/ports.js";
import type { Sender } from "../../src/core/sender.js";
import { DEFAULT_SETTINGS } from "../../src/core/service-settings.js";
import type { Store } from "../../src/core/store/index.js";
import { createVerificationService } from "../../src/core/verification/index.js";
import { createOutbox, type Outbox, retryDelayMs } from "../../src/delivery/outbox.js";
import { createLogger } from "../../src/observability/logger.js";
import { uuidIds } from "../../src/runtime.js";
import { sqliteStores } from "../../src/store/backends.js";
import { migrateSqlite, openSqlite } from "../../src/store/sqlite/open.js";
import { FakeClock } from "../helpers/clock.js";
import { CapturingSender } from "../helpers/senders.js";
import { testVault } from "../store/fixtures.js";

const openLimiter: Limiter = {
  consume: async (rule) => ({ rule, allowed: true, limit: 1e9, remaining: 1e9, windowMs: 60_000, resetMs: 0 }),
  peek: async (rule) => ({ rule, allowed: true, limit: 1e9, remaining: 1e9, windowMs: 60_000, resetMs: 0 }),
  reset: async () => {},
};

const service: Service = {
  id: "svc_test",
  name: "Acme",
  policy: { codeLength: 6, ttlMs: 600_000, maxChecks: 5, maxSends: 5, resendCooldownMs: 30_000, resendPolicy: "same" },
  route: [
    { channel: "whatsapp", providers: ["wa"] },
    { channel: "sms", providers: ["sms"] },
  ],
  countryRoutes: {},
  settings: DEFAULT_SETTINGS,
};

describe("delivery outbox", () => {
  let dir: string;
  let store: Store;
  let clock: FakeClock;
  let wa: CapturingSender;
  let sms: CapturingSender;
  const codes = createCodeKit("outbox-test-secret-0123456789abcdefghij");
  const outboxes: Outbox[] = [];

  const makeOutbox = (senders: Sender[] = [wa, sms], maxTriesPerStep = 3, breakerFailures = 5) => {
    const outbox = createOutbox({
      breakerFailures,
      store,
      clock,
      ids: uuidIds,
      codes,
      senders: new Map(senders.map((s) => [s.provider, s])),
      logger: createLogger("silent"),
      maxTriesPerStep,
      leaseMs: 30_000,
    });
    outboxes.push(outbox);
    return outbox;
  };
  const start = async (outbox: Outbox, to = "+14155550100") =>
    createVerificationService({ store, clock, ids: uuidIds, codes, limiter: openLimiter, dispatcher: outbox }).start(service, {
      to,
    });
  const deliveries = async (id: string) => (await store.listDeliveries(id)).map((d) => `${d.step}:${d.provider}:${d.status}`);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-outbox-"));
    const sqlite = openSqlite(join(dir, "o.db"));
    migrateSqlite(sqlite.db);
    store = sqliteStores(sqlite, testVault).store;
    clock = new FakeClock();
    wa = new CapturingSender("wa");
    sms = new CapturingSender("sms");
    await store.ensureService({ id: service.id, name: service.name, route: service.route }, clock.now());
  });
  afterEach(async () => {
    for (const o of outboxes.splice(0)) await o.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends on the first step and renders the code into the body", async () => {
    const v = await start(makeOutbox());
    expect(wa.messages).toHaveLength(1);
    const [m] = wa.messages;
    expect(m?.body).toBe(`Your Acme code is ${m?.code}. It expires in 10 minutes. Do not share it.`);
    expect(m?.body.length).toBeLessThanOrEqual(160);
    expect(await deliveries(v.id)).toEqual(["0:wa:accepted"]);
  });

  it("sends more than one batch of due retries in a single pass, each once", async () => {
    const outbox = makeOutbox([wa, sms], 3, 1_000); // the circuit stays shut through 40 failures
    for (let i = 0; i < 40; i++) wa.script.push({ kind: "retry", error: { code: "http_503", message: "busy" } });
    for (let i = 0; i < 40; i++) await start(outbox, `+1415555${String(1000 + i)}`);
    expect(wa.messages).toHaveLength(40); // every inline first send failed: 40 retries queued
    clock.advance(2_000);
    expect(await outbox.runOnce()).toBe(40); // more than the batch of 32
    expect(wa.messages).toHaveLength(80);
    expect(new Set(wa.messages.slice(40).map((m) => m.to)).size).toBe(40);
  });

  it("runs the next pass at once while passes stop at their bound with events still due", async () => {
    let full = 3; // three passes find more events due than one pass sends
    let passes = 0;
    const eventsWorker = {
      passLimit: 64,
      runOnce: async () => {
        passes++;
        return full-- > 0 ? 64 : 5;
      },
    };
    const outbox = createOutbox({
      store,
      clock,
      ids: uuidIds,
      codes,
      senders: new Map(),
      logger: createLogger("silent"),
      eventsWorker,
    });
    outboxes.push(outbox);
    outbox.start(3_600_000); // an hour between passes that leave nothing due
    await vi.waitFor(() => expect(passes).toBe(4), { timeout: 10_000, interval: 5 });
  });

  it("retries a transient failure after a backoff, not before", async () => {
    wa.script.push({ kind: "retry", error: { code: "http_503", message: "busy" } });
    const outbox = makeOutbox();
    const v = await start(outbox);
    expect(await deliveries(v.id)).toEqual(["0:wa:queued"]);
    expect(await outbox.runOnce()).toBe(0);
    clock.advance(1_200); // the first backoff is 1 s ± 20 %
    expect(await outbox.runOnce()).toBe(1);
    expect(wa.messages).toHaveLength(2);
    expect(wa.messages[1]?.code).toBe(wa.messages[0]?.code);
    expect(await deliveries(v.id)).toEqual(["0:wa:accepted"]);
  });

  it("falls back at once to the next step on a permanent rejection, with the same code", async () => {
    wa.script.push({ kind: "rejected", error: { code: "not_on_whatsapp", message: "no account" } });
    const v = await start(makeOutbox());
    expect(sms.messages).toHaveLength(1);
    expect(sms.messages[0]?.code).toBe(wa.messages[0]?.code);
    expect(sms.messages[0]?.channel).toBe("sms");
    expect(await deliveries(v.id)).toEqual(["0:wa:failed", "1:sms:accepted"]);
    expect((await store.getVerification(service.id, v.id))?.currentStep).toBe(1);
  });

  it("falls back when retries on a step are exhausted", async () => {
    for (let i = 0; i < 3; i++) wa.script.push({ kind: "retry", error: { code: "timeout", message: "slow" } });
    const outbox = makeOutbox();
    const v = await start(outbox);
    for (let i = 0; i < 2; i++) {
      clock.advance(60_000);
      await outbox.runOnce();
    }
    expect(wa.messages).toHaveLength(3);
    expect(sms.messages).toHaveLength(1);
    expect(await deliveries(v.id)).toEqual(["0:wa:failed", "1:sms:accepted"]);
  });

  it("fails the verification when the last step fails", async () => {
    wa.script.push({ kind: "rejected", error: { code: "bad_number", message: "" } });
    sms.script.push({ kind: "misconfigured", error: { code: "auth_failed", message: "" } });
    const v = await start(makeOutbox());
    expect((await store.getVerification(service.id, v.id))?.status).toBe("failed");
  });

  it("treats a missing provider as a failed step and falls back", async () => {
    const v = await start(makeOutbox([sms]));
    expect(sms.messages).toHaveLength(1);
    expect((await store.listDeliveries(v.id))[0]?.errorCode).toBe("provider_not_configured");
  });

  it("treats a throwing adapter as transient", async () => {
    const broken: Sender = { provider: "wa", channels: ["whatsapp"], send: async () => Promise.reject(new Error("bug")) };
    const v = await start(makeOutbox([broken, sms]));
    expect((await store.listDeliveries(v.id))[0]).toMatchObject({ status: "queued", errorCode: "adapter_error" });
  });

  it("does not retry past the code's expiry", async () => {
    wa.script.push({ kind: "retry", error: { code: "http_429", message: "" }, retryAfterMs: 3_600_000 });
    const v = await start(makeOutbox());
    expect(await deliveries(v.id)).toEqual(["0:wa:failed", "1:sms:accepted"]);
  });

  // The process died right after the commit: nothing was sent inline.
  const crashedDispatcher = {
    leaseMs: 30_000,
    dispatch: async () => "other" as const,
    dispatchClaimed: async () => "other" as const,
  };
  const serviceWith = (dispatcher: typeof crashedDispatcher | Outbox) =>
    createVerificationService({ store, clock, ids: uuidIds, codes, limiter: openLimiter, dispatcher });

  it("writes a start's first delivery already claimed; a crash before the send delays it by the lease only", async () => {
    const v = await serviceWith(crashedDispatcher).start(service, { to: "+14155550100" });
    expect(await store.listDeliveries(v.id)).toMatchObject([{ status: "sending", tries: 1 }]);
    const restarted = makeOutbox();
    expect(await restarted.runOnce()).toBe(0); // still leased to the process that died
    clock.advance(30_000);
    expect(await restarted.runOnce()).toBe(1);
    expect(wa.messages).toHaveLength(1);
    expect(await store.listDeliveries(v.id)).toMatchObject([{ status: "accepted", tries: 2 }]);
  });

  it("sends a queued delivery committed before a crash on the next worker pass", async () => {
    const v = await start(makeOutbox());
    clock.advance(service.policy.resendCooldownMs);
    await serviceWith(crashedDispatcher).resend(service, v.id); // a resend's delivery is written queued
    expect(await deliveries(v.id)).toEqual(["0:wa:accepted", "0:wa:queued"]);
    expect(await makeOutbox().runOnce()).toBe(1);
    expect(await deliveries(v.id)).toEqual(["0:wa:accepted", "0:wa:accepted"]);
  });

  it("resends a queued delivery whose sender crashed mid-send, once its lease expires", async () => {
    const v = await start(makeOutbox());
    clock.advance(service.policy.resendCooldownMs);
    await serviceWith(crashedDispatcher).resend(service, v.id);
    const queued = (await store.listDeliveries(v.id))[1];
    expect(await store.claimDelivery(queued!.id, clock.now(), 30_000)).not.toBeNull(); // claimed, then the process died
    const restarted = makeOutbox();
    expect(await restarted.runOnce()).toBe(0);
    clock.advance(30_000);
    expect(await restarted.runOnce()).toBe(1);
    expect(wa.messages).toHaveLength(2);
    expect((await store.listDeliveries(v.id))[1]).toMatchObject({ status: "accepted", tries: 2 });
  });

  it("never sends a queued delivery of a verification that closed", async () => {
    wa.script.push({ kind: "retry", error: { code: "http_503", message: "" } });
    const outbox = makeOutbox();
    const v = await start(outbox);
    await store.closeVerification(v.id, "canceled", clock.now());
    clock.advance(60_000);
    await outbox.runOnce();
    expect(wa.messages).toHaveLength(1);
    expect(await deliveries(v.id)).toEqual(["0:wa:canceled"]);
  });

  it("backs off exponentially with jitter, capped at a minute", () => {
    expect(retryDelayMs(1, () => 0.5)).toBe(1_000);
    expect(retryDelayMs(4, () => 0.5)).toBe(8_000);
    expect(retryDelayMs(20, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(1, () => 0)).toBe(800);
    expect(retryDelayMs(1, () => 1)).toBe(1_200);
  });
});
