import { randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import Database from "better-sqlite3";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createEventReceivers, RECEIVER_MEMORY_MS } from "../../src/core/event-receivers.js";
import { createEventSink, maskPhone } from "../../src/core/events.js";
import { createNumberVault } from "../../src/core/number-vault.js";
import type { EventStore } from "../../src/core/store/events.js";
import type { Store } from "../../src/core/store/index.js";
import type { StoreUnit } from "../../src/core/store/unit.js";
import { createEventsWorker, EVENT_MAX_TRIES, EVENT_RETRY_DELAYS_MS } from "../../src/delivery/events-worker.js";
import { createLogger } from "../../src/observability/logger.js";
import { sqliteStores } from "../../src/store/backends.js";
import { openSqlite } from "../../src/store/sqlite/open.js";
import { GUARD_NEVER_TRIPS } from "../helpers/conversion.js";
import { createHarness, type Harness, TEST_SECRET } from "../helpers/harness.js";
import { type SinkRequest, startWebhookSink, type WebhookSink } from "../helpers/webhook-sink.js";

const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const TO = "+14155550100";

interface EventBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}
type EventView = { id: string; type: string; status: string; tries: number; last_error: string | null; service_id: string };

const countEvents = (dbPath: string): number => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare("select count(*) as n from events").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

/** Verifies with the standardwebhooks package as a receiver would, at the fake clock's time. */
function verifyAt(now: number, secret: string, request: { body: string; headers: Record<string, string> }): EventBody {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(now);
  try {
    return new Webhook(secret).verify(request.body, request.headers) as EventBody;
  } finally {
    vi.useRealTimers();
  }
}

const typeOf = (r: SinkRequest) => (JSON.parse(r.body) as EventBody).type;
const ofType = (sink: WebhookSink, type: string) => sink.requests.filter((r) => typeOf(r) === type);

describe("event webhooks", () => {
  let sink: WebhookSink;
  let h: Harness;

  beforeEach(async () => {
    sink = await startWebhookSink();
  });
  afterEach(async () => {
    await h?.close();
    await sink.close();
  });

  const withEvents = async () => {
    h = await createHarness({ VERIFYD_EVENTS_URL: sink.url, VERIFYD_EVENTS_SECRET: SECRET });
  };
  /** Runs worker passes through the whole retry schedule. */
  const throughSchedule = async () => {
    await h.runtime.outbox.runOnce();
    for (const delay of EVENT_RETRY_DELAYS_MS) {
      h.clock.advance(delay);
      await h.runtime.outbox.runOnce();
    }
  };

  it("sends more than one batch of due events in a single pass", async () => {
    h = await createHarness({
      VERIFYD_EVENTS_URL: sink.url,
      VERIFYD_EVENTS_SECRET: SECRET,
      VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000/1h",
      ...GUARD_NEVER_TRIPS,
    });
    for (let i = 0; i < 40; i++) await h.startVerification(`+1212555${String(1000 + i)}`);
    const queued = countEvents(h.dbPath);
    expect(queued).toBeGreaterThan(64); // a started and a sent event each: more than two batches of 32
    await h.runtime.outbox.runOnce();
    expect(sink.requests).toHaveLength(queued);
    expect(new Set(sink.requests.map((r) => r.headers["webhook-id"])).size).toBe(queued);
  });

  it("while callers are being refused, a pass sends one batch; the rest wait for later passes", async () => {
    h = await createHarness({
      VERIFYD_EVENTS_URL: sink.url,
      VERIFYD_EVENTS_SECRET: SECRET,
      VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000/1h",
      ...GUARD_NEVER_TRIPS,
    });
    for (let i = 0; i < 40; i++) await h.startVerification(`+1212555${String(1000 + i)}`);
    const queued = countEvents(h.dbPath);
    await h.withStore(async (store) => {
      const receivers = createEventReceivers({ store, secret: TEST_SECRET, fallback: { url: sink.url, secret: SECRET } });
      let shedding = true;
      const holdBack = () => shedding;
      const worker = createEventsWorker({ store, clock: h.clock, receivers, logger: createLogger("silent"), holdBack });
      expect(await worker.runOnce()).toBe(32);
      expect(await worker.runOnce()).toBe(32);
      expect(sink.requests).toHaveLength(64);
      shedding = false;
      expect(await worker.runOnce()).toBe(queued - 64);
    });
    expect(new Set(sink.requests.map((r) => r.headers["webhook-id"])).size).toBe(queued);
  });

  it("keeps two batches in flight at once: a receiver that answers only past 32 open requests gets every event", async () => {
    // Holds every request until more than one batch is open at once, then answers them all (and
    // every later one) at once. With one batch in flight the requests would wait for the timeout.
    const held: http.ServerResponse[] = [];
    let released = false;
    let mostOpen = 0;
    const receiver = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (released) return res.writeHead(204).end();
        held.push(res);
        mostOpen = Math.max(mostOpen, held.length);
        if (held.length > 32) {
          released = true;
          for (const r of held.splice(0)) r.writeHead(204).end();
        }
      });
    });
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      h = await createHarness({
        VERIFYD_EVENTS_URL: url,
        VERIFYD_EVENTS_SECRET: SECRET,
        VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000/1h",
        ...GUARD_NEVER_TRIPS,
      });
      for (let i = 0; i < 40; i++) await h.startVerification(`+1212555${String(1000 + i)}`);
      await h.withStore(async (store) => {
        const receivers = createEventReceivers({ store, secret: TEST_SECRET, fallback: { url, secret: SECRET } });
        const worker = createEventsWorker({
          store,
          clock: h.clock,
          receivers,
          logger: createLogger("silent"),
          timeoutMs: 30_000,
        });
        expect(await worker.runOnce()).toBeGreaterThan(64);
        expect(await store.countPendingEvents()).toBe(0);
      });
      expect(mostOpen).toBeGreaterThan(32);
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  describe("fresh events handed to the running worker", () => {
    const EVENT_LEASE_MS = 11_000; // two send timeouts and a second
    const data = (id: string) => ({
      verification_id: id,
      service_id: "svc_default",
      status: "pending",
      channel: "sms" as const,
      to_masked: null,
    });
    /** A worker accepting hand-offs and an event sink handing off to it, on `store`. */
    const running = (store: Store) => {
      const receivers = createEventReceivers({ store, secret: TEST_SECRET, fallback: { url: sink.url, secret: SECRET } });
      const worker = createEventsWorker({ store, clock: h.clock, receivers, logger: createLogger("silent") });
      worker.handOff.accepting = true;
      const events = createEventSink({ store, clock: h.clock, hasReceiver: receivers.hasReceiver, handOff: worker.handOff });
      return { worker, events, receivers };
    };
    const otherWorker = (store: Store) =>
      createEventsWorker({
        store,
        clock: h.clock,
        receivers: createEventReceivers({ store, secret: TEST_SECRET, fallback: { url: sink.url, secret: SECRET } }),
        logger: createLogger("silent"),
      });

    it("sends them without a claim, from a unit once it committed: another worker finds them leased", async () => {
      h = await createHarness();
      await h.withStore(async (store) => {
        const { worker, events } = running(store);
        await events.emit("verification.started", data("ver_1"));
        await store.unit(async (unit) => events.emit("verification.approved", data("ver_1"), unit));
        expect(await otherWorker(store).runOnce()).toBe(0);
        expect(await worker.runOnce()).toBe(2);
        expect(await store.countPendingEvents()).toBe(0);
      });
      expect(sink.requests.map(typeOf).sort()).toEqual(["verification.approved", "verification.started"]);
    });

    it("leaves those it never sent (a crash) to any worker's claim once their lease runs out", async () => {
      h = await createHarness();
      await h.withStore(async (store) => {
        await running(store).events.emit("verification.started", data("ver_1"));
        const next = otherWorker(store);
        expect(await next.runOnce()).toBe(0);
        h.clock.advance(EVENT_LEASE_MS);
        expect(await next.runOnce()).toBe(1);
      });
      expect(sink.requests.map(typeOf)).toEqual(["verification.started"]);
    });

    it("hands nothing off while not accepting (the outbox stopped): events are queued due", async () => {
      h = await createHarness();
      await h.withStore(async (store) => {
        const { worker, events } = running(store);
        worker.handOff.accepting = false;
        await events.emit("verification.started", data("ver_1"));
        expect(await otherWorker(store).runOnce()).toBe(1);
        expect(await worker.runOnce()).toBe(0);
      });
    });

    it("gives events due in the store at least half of each batch, however many fresh ones wait", async () => {
      h = await createHarness();
      await h.withStore(async (store) => {
        const receivers = createEventReceivers({ store, secret: TEST_SECRET, fallback: { url: sink.url, secret: SECRET } });
        const worker = createEventsWorker({
          store,
          clock: h.clock,
          receivers,
          logger: createLogger("silent"),
          maxBatchesPerPass: 1,
        });
        worker.handOff.accepting = true;
        const now = h.clock.now();
        for (let i = 0; i < 40; i++) {
          const base = { type: "verification.started" as const, serviceId: "svc_default", createdAt: now };
          await store.enqueueEvent({ ...base, id: `evt_due_${i}`, payload: "{}" });
          const leaseUntil = worker.handOff.reserve(now) as number;
          await store.enqueueEvent({ ...base, id: `evt_fresh_${i}`, payload: "{}", leaseUntil });
          worker.handOff.give(
            { id: `evt_fresh_${i}`, type: base.type, serviceId: base.serviceId, payload: "{}", tries: 0 },
            leaseUntil,
          );
        }
        expect(await worker.runOnce()).toBe(32);
      });
      const ids = sink.requests.map((r) => r.headers["webhook-id"] ?? "");
      expect(ids.filter((id) => id.startsWith("evt_due_"))).toHaveLength(16);
      expect(ids.filter((id) => id.startsWith("evt_fresh_"))).toHaveLength(16);
    });

    it("does not hand off an event whose unit failed", async () => {
      const handOff = { reserve: vi.fn(() => 1_000), give: vi.fn(), release: vi.fn() };
      const enqueued: unknown[] = [];
      const sinkOfEvents = createEventSink({
        store: { enqueueEvent: async (event) => void enqueued.push(event) } as EventStore,
        clock: { now: () => 0 },
        hasReceiver: async () => true,
        handOff,
      });
      const unit = (durable: boolean): StoreUnit => ({ join: (port) => port, afterCommit: (then) => then(durable) });
      await sinkOfEvents.emit("verification.started", data("ver_1"), unit(false));
      expect(handOff.release).toHaveBeenCalledTimes(1);
      expect(handOff.give).not.toHaveBeenCalled();
      await sinkOfEvents.emit("verification.started", data("ver_2"), unit(true));
      expect(handOff.give).toHaveBeenCalledTimes(1);
      expect(enqueued).toMatchObject([{ leaseUntil: 1_000 }, { leaseUntil: 1_000 }]);
    });
  });

  it("masks phone numbers", () => {
    expect(maskPhone(TO)).toBe("+1415***0100");
  });

  it("sends signed verification.started, delivery.sent and verification.approved, without the code or the number", async () => {
    await withEvents();
    const { id, code } = await h.startVerification(TO);
    await h.runtime.outbox.runOnce();
    const check = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${id}/check`, { code });
    expect(check.body.valid).toBe(true);
    await h.runtime.outbox.runOnce();

    expect(sink.requests.map(typeOf)).toEqual(["verification.started", "delivery.sent", "verification.approved"]);
    for (const request of sink.requests) {
      expect(request.headers["webhook-id"]).toMatch(/^evt_/);
      const verified = verifyAt(h.clock.now(), SECRET, request);
      expect(verified.data.verification_id).toBe(id);
      expect(verified.data.to_masked).toBe("+1415***0100");
      expect(new Date(verified.timestamp).getTime()).toBe(h.clock.now());
      expect(request.body).not.toContain(code);
      expect(request.body).not.toContain("4155550100");
    }
    const wrongSecret = `whsec_${randomBytes(32).toString("base64")}`;
    expect(() => verifyAt(h.clock.now(), wrongSecret, sink.requests[0]!)).toThrow();
    const sent = JSON.parse(ofType(sink, "delivery.sent")[0]!.body) as EventBody;
    expect(sent.data).toMatchObject({ provider: "console", provider_message_id: "msg_1", status: "sent" });
  });

  it("emits delivery.delivered, delivery.failed and verification.expired", async () => {
    await withEvents();
    await h.startVerification(TO);
    await h.runtime.outbox.applyStatus("console", { providerMessageId: "msg_1", status: "delivered" });
    h.sender.script.push({ kind: "rejected", error: { code: "bad_number", message: "" } });
    await h.json("POST", "/v1/verifications", { to: "+14155550101" });
    h.clock.advance(601_000);
    await h.runtime.outbox.runOnce();
    expect(sink.requests.map(typeOf)).toEqual(
      expect.arrayContaining(["delivery.delivered", "delivery.failed", "verification.expired"]),
    );
    const failed = JSON.parse(ofType(sink, "delivery.failed")[0]!.body) as EventBody;
    expect(failed.data).toMatchObject({ error_code: "bad_number", to_masked: "+1415***0101" });
  });

  it("an undelivered receipt on the last step sends delivery.undelivered; the verification stays pending", async () => {
    await withEvents();
    const { id } = await h.startVerification(TO);
    await h.runtime.outbox.applyStatus("console", { providerMessageId: "msg_1", status: "undelivered", errorCode: "30005" });
    await h.runtime.outbox.runOnce();
    const [undelivered] = ofType(sink, "delivery.undelivered");
    expect((JSON.parse(undelivered?.body ?? "{}") as EventBody).data).toMatchObject({
      verification_id: id,
      channel: "sms",
      status: "undelivered",
      error_code: "30005",
      provider: "console",
      verification_status: "pending",
    });
    expect(ofType(sink, "delivery.failed")).toHaveLength(0);
    expect((await h.json<{ status: string }>("GET", `/v1/verifications/${id}`)).body.status).toBe("pending");
  });

  it("retries a 500 on a later pass with the same webhook-id, then delivers", async () => {
    await withEvents();
    sink.respondWith(500);
    await h.startVerification(TO);
    await h.runtime.outbox.runOnce();
    expect(ofType(sink, "verification.started")).toHaveLength(1);

    await h.runtime.outbox.runOnce(); // not due yet
    expect(ofType(sink, "verification.started")).toHaveLength(1);

    h.clock.advance(EVENT_RETRY_DELAYS_MS[0]);
    await h.runtime.outbox.runOnce();
    const tries = ofType(sink, "verification.started");
    expect(tries).toHaveLength(2);
    expect(tries[1]!.headers["webhook-id"]).toBe(tries[0]!.headers["webhook-id"]);
    expect(tries[1]!.headers["webhook-timestamp"]).toBe(String(Math.floor(h.clock.now() / 1000)));
    expect(verifyAt(h.clock.now(), SECRET, tries[1]!).type).toBe("verification.started");

    h.clock.advance(24 * 3_600_000);
    await h.runtime.outbox.runOnce(); // delivered: never sent again
    expect(ofType(sink, "verification.started")).toHaveLength(2);
  });

  it("retries a receiver that does not answer within the timeout", async () => {
    await withEvents();
    sink.setDefault(200, { delayMs: 60_000 });
    await h.startVerification(TO);
    // A worker of its own with a short timeout, on the same database; the harness's worker is not run.
    const second = openSqlite(h.dbPath);
    const store = sqliteStores(second, createNumberVault(TEST_SECRET)).store;
    try {
      const receivers = createEventReceivers({ store, secret: TEST_SECRET, fallback: { url: sink.url, secret: SECRET } });
      const worker = createEventsWorker({ store, clock: h.clock, receivers, logger: createLogger("silent"), timeoutMs: 100 });
      expect(await worker.runOnce()).toBe(2); // started and sent
      sink.setDefault(200);
      expect(await worker.runOnce()).toBe(0); // not due yet
      h.clock.advance(EVENT_RETRY_DELAYS_MS[0]);
      expect(await worker.runOnce()).toBe(2);
    } finally {
      second.raw.close();
    }
    const started = ofType(sink, "verification.started");
    expect(started).toHaveLength(2);
    expect(started[1]!.headers["webhook-id"]).toBe(started[0]!.headers["webhook-id"]);
    const listed = await h.json<{ data: EventView[] }>("GET", "/v1/events?status=delivered");
    expect(listed.body.data.map((e) => e.tries)).toEqual([2, 2]);
  });

  it("records a batch's results in one store call; tries never recorded are sent again after the lease", async () => {
    await withEvents();
    await h.startVerification(TO);
    const second = openSqlite(h.dbPath);
    const store = sqliteStores(second, createNumberVault(TEST_SECRET)).store;
    const recorded: number[] = [];
    let storeDown = true;
    // The store fails while the first batch's results are recorded, as a crash would lose them.
    const flaky = new Proxy(store, {
      get(target, key, receiver) {
        if (key !== "recordEventResults") return Reflect.get(target, key, receiver);
        return async (results: Parameters<typeof store.recordEventResults>[0], now: number) => {
          recorded.push(results.length);
          if (storeDown) throw new Error("store unavailable");
          return target.recordEventResults(results, now);
        };
      },
    });
    try {
      const receivers = createEventReceivers({ store, secret: TEST_SECRET, fallback: { url: sink.url, secret: SECRET } });
      const timeoutMs = 100;
      const worker = createEventsWorker({ store: flaky, clock: h.clock, receivers, logger: createLogger("silent"), timeoutMs });
      await expect(worker.runOnce()).rejects.toThrow("store unavailable");
      storeDown = false;
      expect(await worker.runOnce()).toBe(0); // still leased
      h.clock.advance(2 * timeoutMs + 1_000);
      expect(await worker.runOnce()).toBe(2);
    } finally {
      second.raw.close();
    }
    expect(recorded).toEqual([2, 2]); // one call per batch, not one per event
    const ids = sink.requests.map((r) => r.headers["webhook-id"]);
    expect(ids).toHaveLength(4);
    expect(new Set(ids.slice(2))).toEqual(new Set(ids.slice(0, 2)));
    const listed = await h.json<{ data: EventView[] }>("GET", "/v1/events?status=delivered");
    expect(listed.body.data.map((e) => e.tries)).toEqual([1, 1]);
  });

  it("marks an event dead after the whole schedule, lists it and sends it again on redeliver", async () => {
    await withEvents();
    sink.setDefault(503);
    const { id } = await h.startVerification(TO);
    await throughSchedule();
    h.clock.advance(48 * 3_600_000);
    await h.runtime.outbox.runOnce();
    const started = ofType(sink, "verification.started");
    expect(started).toHaveLength(EVENT_MAX_TRIES);
    expect(new Set(started.map((r) => r.headers["webhook-id"])).size).toBe(1);

    const dead = await h.json<{ data: EventView[] }>("GET", "/v1/events?status=dead");
    expect(dead.status).toBe(200);
    const event = dead.body.data.find((e) => e.type === "verification.started");
    expect(event).toMatchObject({ status: "dead", tries: EVENT_MAX_TRIES, last_error: "http_503" });
    const pending = (await h.json<{ data: EventView[] }>("GET", "/v1/events?status=pending")).body.data;
    expect(pending.map((e) => e.id)).not.toContain(event!.id);

    sink.setDefault(200);
    const redeliver = await h.json<EventView>("POST", `/v1/events/${event!.id}/redeliver`);
    expect(redeliver.status).toBe(202);
    expect(redeliver.body.status).toBe("pending");
    await h.runtime.outbox.runOnce();
    const again = ofType(sink, "verification.started");
    expect(again).toHaveLength(EVENT_MAX_TRIES + 1);
    expect(again.at(-1)!.headers["webhook-id"]).toBe(event!.id);
    expect(verifyAt(h.clock.now(), SECRET, again.at(-1)!).data.verification_id).toBe(id);
    const after = await h.json<{ data: EventView[] }>("GET", "/v1/events?status=dead");
    expect(after.body.data.map((e) => e.id)).not.toContain(event!.id);

    const unknown = await h.json<{ code: string }>("POST", "/v1/events/evt_nope/redeliver");
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("event_not_found");
  });

  it("sends a service's events to its own URL with its own secret, and scopes the event log to the service", async () => {
    await withEvents();
    const own = await startWebhookSink();
    try {
      const ownSecret = `whsec_${randomBytes(32).toString("base64")}`;
      const created = await h.json<{ id: string; webhook: unknown }>("POST", "/v1/services", {
        name: "Shop",
        webhook_url: own.url,
        webhook_secret: ownSecret,
      });
      expect(created.status).toBe(201);
      expect(created.body.webhook).toEqual({ url: own.url, secret_set: true });
      expect(JSON.stringify(created.body)).not.toContain(ownSecret.slice(6, 20));
      const read = await h.json("GET", `/v1/services/${created.body.id}`);
      expect(JSON.stringify(read.body)).not.toContain(ownSecret.slice(6, 20));
      const db = new Database(h.dbPath, { readonly: true });
      const row = db.prepare("select * from services where id = ?").get(created.body.id) as Record<string, unknown>;
      db.close();
      expect(Buffer.from(row.webhook_secret_sealed as Buffer).toString("latin1")).not.toContain(ownSecret.slice(6, 20));

      const key = await h.json<{ key: string }>("POST", "/v1/keys", { service_id: created.body.id, label: "shop" });
      const auth = { authorization: `Bearer ${key.body.key}` };
      const started = await h.json<{ id: string }>("POST", "/v1/verifications", { to: TO }, auth);
      expect(started.status).toBe(201);
      await h.startVerification("+14155550199"); // the default service: the global receiver
      await h.runtime.outbox.runOnce();

      expect(own.requests.map(typeOf)).toEqual(["verification.started", "delivery.sent"]);
      for (const r of own.requests) {
        expect(verifyAt(h.clock.now(), ownSecret, r).data.service_id).toBe(created.body.id);
        expect(() => verifyAt(h.clock.now(), SECRET, r)).toThrow();
      }
      expect(sink.requests.map((r) => verifyAt(h.clock.now(), SECRET, r).data.service_id)).toEqual([
        "svc_default",
        "svc_default",
      ]);

      const mine = await h.json<{ data: EventView[] }>("GET", "/v1/events", undefined, auth);
      expect(mine.body.data.map((e) => e.service_id)).toEqual([created.body.id, created.body.id]);
      const foreign = (await h.json<{ data: EventView[] }>("GET", "/v1/events")).body.data.find(
        (e) => e.service_id === "svc_default",
      );
      const refused = await h.json<{ code: string }>("POST", `/v1/events/${foreign!.id}/redeliver`, undefined, auth);
      expect(refused.status).toBe(404);

      // Clearing the URL falls back to the global receiver; a bad secret is refused.
      const cleared = await h.json<{ webhook: unknown }>("PATCH", `/v1/services/${created.body.id}`, { webhook_url: null });
      expect(cleared.body.webhook).toEqual({ url: null, secret_set: true });
      const bad = await h.json<{ code: string }>("PATCH", `/v1/services/${created.body.id}`, { webhook_secret: "hunter2" });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe("invalid_request");
    } finally {
      await own.close();
    }
  });

  it("stores events once a service's receiver is set: at once through this process, within 5 s when set elsewhere", async () => {
    h = await createHarness();
    await h.startVerification("+14155550101");
    expect(countEvents(h.dbPath)).toBe(0);

    const set = await h.json("PATCH", "/v1/services/svc_default", { webhook_url: sink.url });
    expect(set.status).toBe(200);
    await h.startVerification("+14155550102");
    expect(countEvents(h.dbPath)).toBe(2); // verification.started, delivery.sent

    // Cleared behind this process's back, as another instance would: honoured within 5 s.
    const db = new Database(h.dbPath);
    db.prepare("update services set webhook_url = null where id = 'svc_default'").run();
    db.close();
    await h.startVerification("+14155550103");
    const before = countEvents(h.dbPath);
    h.clock.advance(RECEIVER_MEMORY_MS);
    await h.startVerification("+14155550104");
    expect(countEvents(h.dbPath)).toBe(before);
  });

  it("enqueues nothing when neither the service nor the configuration names a receiver", async () => {
    h = await createHarness();
    const { id, code } = await h.startVerification(TO);
    await h.json("POST", `/v1/verifications/${id}/check`, { code });
    await h.runtime.outbox.runOnce();
    expect(countEvents(h.dbPath)).toBe(0);
    expect(sink.requests).toHaveLength(0);
  });
});
