import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { maskPhone } from "../../src/core/events.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import { startWebhookSink, type WebhookSink } from "../helpers/webhook-sink.js";

const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const TO = "+14155550100";

interface EventBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

const countEvents = (dbPath: string): number => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare("select count(*) as n from events").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

/** Verifies as a receiver would at the fake clock's time (the signature's timestamp is that time). */
function verifyAt(now: number, secret: string, request: { body: string; headers: Record<string, string> }): EventBody {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(now);
  try {
    return new Webhook(secret).verify(request.body, request.headers) as EventBody;
  } finally {
    vi.useRealTimers();
  }
}

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

  it("masks phone numbers", () => {
    expect(maskPhone(TO)).toBe("+1415***0100");
  });

  it("sends signed verification.started then verification.approved, without the code or the number", async () => {
    await withEvents();
    const { id, code } = await h.startVerification(TO);
    await h.runtime.outbox.runOnce();
    const check = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${id}/check`, { code });
    expect(check.body.valid).toBe(true);
    await h.runtime.outbox.runOnce();

    expect(sink.requests.map((r) => (JSON.parse(r.body) as EventBody).type)).toEqual([
      "verification.started",
      "verification.approved",
    ]);
    for (const request of sink.requests) {
      expect(request.headers["webhook-id"]).toMatch(/^evt_/);
      const verified = verifyAt(h.clock.now(), SECRET, request);
      expect(verified.data.verification_id).toBe(id);
      expect(verified.data.to_masked).toBe("+1415***0100");
      expect(new Date(verified.timestamp).getTime()).toBe(h.clock.now());
      expect(request.body).not.toContain(code);
      expect(request.body).not.toContain(TO);
      expect(request.body).not.toContain("4155550100");
    }
    const wrongSecret = `whsec_${randomBytes(32).toString("base64")}`;
    expect(() => verifyAt(h.clock.now(), wrongSecret, sink.requests[0]!)).toThrow();
    const approved = JSON.parse(sink.requests[1]!.body) as EventBody;
    expect(approved.data.status).toBe("approved");
    expect(approved.data.channel).toBe("sms");
  });

  it("retries a 500 on a later pass with the same webhook-id, then delivers", async () => {
    await withEvents();
    sink.respondWith(500);
    await h.startVerification(TO);
    await h.runtime.outbox.runOnce();
    expect(sink.requests).toHaveLength(1);

    await h.runtime.outbox.runOnce(); // not due yet
    expect(sink.requests).toHaveLength(1);

    h.clock.advance(5_000);
    await h.runtime.outbox.runOnce();
    expect(sink.requests).toHaveLength(2);
    expect(sink.requests[1]!.headers["webhook-id"]).toBe(sink.requests[0]!.headers["webhook-id"]);
    expect(sink.requests[1]!.headers["webhook-timestamp"]).toBe(String(Math.floor(h.clock.now() / 1000)));
    expect(verifyAt(h.clock.now(), SECRET, sink.requests[1]!).type).toBe("verification.started");

    h.clock.advance(24 * 3_600_000);
    await h.runtime.outbox.runOnce(); // delivered: never sent again
    expect(sink.requests).toHaveLength(2);
  });

  it("stops after a 410", async () => {
    await withEvents();
    sink.setDefault(410);
    await h.startVerification(TO);
    await h.runtime.outbox.runOnce();
    expect(sink.requests).toHaveLength(1);
    for (let i = 0; i < 5; i++) {
      h.clock.advance(24 * 3_600_000);
      await h.runtime.outbox.runOnce();
    }
    expect(sink.requests).toHaveLength(1);
  });

  it("gives up after 8 tries on the retry schedule", async () => {
    await withEvents();
    sink.setDefault(503);
    await h.startVerification(TO);
    for (let i = 0; i < 12; i++) {
      await h.runtime.outbox.runOnce();
      h.clock.advance(11 * 3_600_000);
    }
    expect(sink.requests).toHaveLength(8);
    expect(new Set(sink.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
  });

  it("emits verification.canceled and verification.max_attempts_reached", async () => {
    await withEvents();
    const first = await h.startVerification(TO);
    expect((await h.call("POST", `/v1/verifications/${first.id}/cancel`)).status).toBeLessThan(300);
    const second = await h.startVerification("+14155550101");
    for (let i = 0; i < 5; i++) {
      await h.json("POST", `/v1/verifications/${second.id}/check`, { code: second.code === "000000" ? "111111" : "000000" });
    }
    await h.runtime.outbox.runOnce();
    const types = sink.requests.map((r) => (JSON.parse(r.body) as EventBody).type);
    expect(types).toContain("verification.canceled");
    expect(types).toContain("verification.max_attempts_reached");
  });

  it("enqueues nothing without VERIFYD_EVENTS_URL", async () => {
    h = await createHarness();
    const { id, code } = await h.startVerification(TO);
    await h.json("POST", `/v1/verifications/${id}/check`, { code });
    await h.runtime.outbox.runOnce();
    expect(countEvents(h.dbPath)).toBe(0);
    expect(sink.requests).toHaveLength(0);
  });
});
