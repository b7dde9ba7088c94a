import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChannelMemory } from "../../src/core/channel-memory.js";
import { createCodeKit } from "../../src/core/codes.js";
import type { Channel, RouteStep, Service } from "../../src/core/model.js";
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

/** What the outbox tells channel memory: delivered receipts, and failures that are about the recipient. */
describe("channel memory in the outbox", () => {
  let dir: string;
  let store: Store;
  let outbox: Outbox;
  let recorded: [string, Channel, string][];
  const codes = createCodeKit("memory-test-secret-0123456789abcdefghijk");
  const wa = new CapturingSender("wa");
  const sms = new CapturingSender("sms1");
  const TO = "+14155550100";

  const start = (route: RouteStep[]) => {
    const memory: ChannelMemory = {
      async record(to, channel, outcome) {
        recorded.push([to, channel, outcome]);
      },
    };
    outbox = createOutbox({
      store,
      clock: new FakeClock(),
      ids: uuidIds,
      codes,
      senders: new Map<string, Sender>([
        ["wa", wa],
        ["sms1", sms],
      ]),
      logger: createLogger("silent"),
      channelMemory: memory,
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
      clock: new FakeClock(),
      ids: uuidIds,
      codes,
      limiter: unlimited,
      dispatcher: outbox,
    });
    return verifications.start(service, { to: TO });
  };
  const WA: RouteStep = { channel: "whatsapp", providers: ["wa"], fallbackAfterMs: 30_000 };
  const SMS: RouteStep = { channel: "sms", providers: ["sms1"], fallbackAfterMs: null };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-memory-"));
    const sqlite = openSqlite(join(dir, "m.db"));
    migrateSqlite(sqlite.db);
    store = sqliteStores(sqlite, testVault).store;
    await store.ensureService({ id: "svc_test", name: "Acme", route: [] }, 0);
    recorded = [];
    wa.messages.length = 0;
    sms.messages.length = 0;
  });
  afterEach(async () => {
    await outbox.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records a rejection about the recipient as the channel failing, and a delivered receipt", async () => {
    wa.script.push({ kind: "rejected", error: { code: "131026", message: "not on WhatsApp" } });
    await start([WA, SMS]);
    expect(recorded).toEqual([[TO, "whatsapp", "failed"]]);
    await outbox.applyStatus("sms1", { providerMessageId: "msg_1", status: "delivered" });
    expect(recorded).toEqual([
      [TO, "whatsapp", "failed"],
      [TO, "sms", "delivered"],
    ]);
  });

  it("records a failed receipt, and nothing for a step the conversion guard withheld", async () => {
    await start([{ ...SMS, withheld: ["unproven_range"] }, WA]);
    // The withheld SMS step is rejected as `blocked`: that says nothing about SMS for this number.
    expect(sms.messages).toHaveLength(0);
    expect(recorded).toEqual([]);
    await outbox.applyStatus("wa", { providerMessageId: "msg_1", status: "failed", errorCode: "131047" });
    expect(recorded).toEqual([[TO, "whatsapp", "failed"]]);
  });
});
