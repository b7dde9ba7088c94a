import { afterEach, describe, expect, it } from "vitest";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio.js";
import { GUARD_NEVER_TRIPS } from "../helpers/conversion.js";
import { type Fault, type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import { PUBLIC_URL } from "../helpers/provider-credentials.js";
import { seeded } from "../helpers/seeded.js";

/**
 * Fault injection between verifyd and a provider: timeouts, 5xx, 429 with Retry-After, connection
 * resets, malformed answers and slow answers, chosen at random with a fixed seed, then webhooks out
 * of order and duplicated. Whatever happens: no verification is lost, tries are bounded, the
 * fallback step takes over when the provider keeps failing, and nothing acknowledged is sent twice.
 */

const FROM = "+15017122661";
const MAX_TRIES_PER_STEP = 5;
const codeIn = (body: string | undefined) => /code is (\d{6})/.exec(body ?? "")?.[1];

interface View {
  status: string;
  deliveries: { step: number; provider: string; status: string }[];
}

describe("provider faults", () => {
  let fake: FakeTwilio;
  let proxy: FaultProxy;
  let h: Harness;
  let choose: (form: Record<string, string>) => Fault = () => "pass";

  /** verifyd → fault proxy → fake Twilio as step 1, a capturing backup as step 2. */
  async function open(env: Record<string, string> = {}) {
    choose = () => "pass";
    fake = await startFakeTwilio();
    proxy = await startFaultProxy({ target: fake.baseUrl, choose: (form) => choose(form), slowMs: 1_500 });
    h = await createHarness(
      { VERIFYD_PUBLIC_URL: PUBLIC_URL, VERIFYD_LIMIT_SENDS_PER_PREFIX: "100000/1h", ...GUARD_NEVER_TRIPS, ...env },
      {
        providers: {
          twilio: {
            type: "twilio",
            accountSid: fake.accountSid,
            authToken: fake.authToken,
            from: FROM,
            baseUrl: proxy.baseUrl,
            timeoutMs: 1_000,
          },
          backup: { type: "capture" },
        },
        route: [
          { channel: "sms", providers: ["twilio"], fallbackAfter: "2m" },
          { channel: "sms", providers: ["backup"] },
        ],
      },
    );
  }
  afterEach(async () => {
    await h.close();
    await proxy.close();
    await fake.close();
  });

  const view = async (id: string) => (await h.json<View>("GET", `/v1/verifications/${id}`)).body;

  /**
   * Worker passes over 200 s of fake time: the retry back-off of one step sums to well under a
   * minute and the fallback timer is 2 minutes. With `receipts`, every message the provider accepted
   * gets its signed "delivered" callback on the next pass, as a carrier would send it.
   */
  async function drain({ receipts = false } = {}) {
    const reported = new Set<string>();
    for (let pass = 0; pass < 40; pass++) {
      if (receipts) {
        for (const m of fake.messages.filter((m) => !reported.has(m.sid))) {
          reported.add(m.sid);
          const w = fake.statusCallback(m.sid, "delivered");
          const res = await h.runtime.app.request("/webhooks/twilio/status", {
            method: "POST",
            headers: w.headers,
            body: w.rawBody,
          });
          expect(res.status).toBe(200);
        }
      }
      h.clock.advance(5_000);
      await h.runtime.outbox.runOnce();
    }
  }

  it("a random mix of faults loses no verification, bounds tries, and falls back", async () => {
    // The circuit stays shut here so every fault reaches the adapter; the last test lets it open.
    await open({ VERIFYD_BREAKER_FAILURES: "1000" });
    const random = seeded(424242);
    const faults: Fault[] = ["pass", "error500", "rate429", "reset", "malformed", "slow"];
    choose = () => faults[Math.floor(random() * faults.length)] as Fault;

    const started: { id: string; to: string }[] = [];
    for (let i = 0; i < 30; i++) {
      const to = `+1415555${String(1000 + i).slice(-4)}`;
      const res = await h.json<{ id: string }>("POST", "/v1/verifications", { to });
      expect(res.status).toBe(201);
      started.push({ id: res.body.id, to });
    }
    await drain({ receipts: true });

    const seenFaults = new Set(proxy.requests.map((r) => r.fault));
    expect(seenFaults.size, "the mix exercised every fault").toBe(faults.length);
    for (const { id, to } of started) {
      const tries = proxy.requests.filter((r) => r.form.To === to);
      const trail = `${to}: ${tries.map((t) => t.fault).join(",")}`;
      // Bounded: one step's budget of tries, never a storm; and no try after a 2xx answer.
      expect(tries.length, trail).toBeGreaterThanOrEqual(1);
      expect(tries.length, trail).toBeLessThanOrEqual(MAX_TRIES_PER_STEP);
      const firstOk = tries.findIndex((r) => r.answered2xx);
      if (firstOk >= 0) expect(tries.length, `${trail} re-sent after a 2xx`).toBe(firstOk + 1);

      const v = await view(id);
      expect(v.status, `${trail} lost`).toBe("pending");
      const backup = h.provider("backup").messages.filter((m) => m.to === to);
      if (tries.some((r) => r.acknowledged)) {
        // Acknowledged with a message id: the receipt matched, the delivery settled, no fallback.
        expect(backup, trail).toHaveLength(0);
        expect(v.deliveries, trail).toMatchObject([{ step: 0, provider: "twilio", status: "delivered" }]);
      } else {
        // Never acknowledged, or accepted without a readable id (no receipt can match it): the
        // fallback step carried the code once its timer ran out.
        expect(backup, trail).toHaveLength(1);
        expect(v.deliveries.at(-1), trail).toMatchObject({ step: 1, provider: "backup", status: "accepted" });
      }
      // Every message the user may hold carries the one code, and it approves.
      const bodies = fake.requests.filter((r) => r.form.To === to).map((r) => codeIn(r.form.Body));
      const codes = new Set([...bodies, ...backup.map((m) => m.code)]);
      expect(codes.size, trail).toBe(1);
      const check = await h.json<{ valid: boolean }>("POST", `/v1/verifications/${id}/check`, { code: [...codes][0] });
      expect(check.body.valid, trail).toBe(true);
    }
  });

  it("a duplicated or out-of-order receipt changes the delivery once and never regresses it", async () => {
    await open();
    const res = await h.json<{ id: string }>("POST", "/v1/verifications", { to: "+14155550142" });
    const sid = fake.messages[0]?.sid as string;
    const post = (status: string, errorCode?: string) => {
      const w = fake.statusCallback(sid, status, errorCode ? { errorCode } : {});
      return h.runtime.app.request("/webhooks/twilio/status", { method: "POST", headers: w.headers, body: w.rawBody });
    };
    expect((await post("delivered")).status).toBe(200);
    expect((await post("delivered")).status).toBe(200);
    expect((await post("sent")).status).toBe(200); // older news, arriving late
    expect((await view(res.body.id)).deliveries).toMatchObject([{ provider: "twilio", status: "delivered" }]);

    const second = await h.json<{ id: string }>("POST", "/v1/verifications", { to: "+14155550143" });
    const sid2 = fake.messages[1]?.sid as string;
    for (let i = 0; i < 3; i++) {
      const w = fake.statusCallback(sid2, "undelivered", { errorCode: "30005" });
      const answer = await h.runtime.app.request("/webhooks/twilio/status", {
        method: "POST",
        headers: w.headers,
        body: w.rawBody,
      });
      expect(answer.status).toBe(200);
    }
    const late = fake.statusCallback(sid2, "sent");
    await h.runtime.app.request("/webhooks/twilio/status", { method: "POST", headers: late.headers, body: late.rawBody });
    expect(h.provider("backup").messages.map((m) => m.to)).toEqual(["+14155550143"]);
    expect((await view(second.body.id)).deliveries).toMatchObject([
      { step: 0, provider: "twilio", status: "undelivered" },
      { step: 1, provider: "backup", status: "accepted" },
    ]);
  });

  it("a provider that is down for good opens its circuit and hands every verification to the fallback", async () => {
    await open();
    choose = () => "error500";
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await h.json<{ id: string }>("POST", "/v1/verifications", { to: `+1415555020${i}` });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    await drain();
    expect(fake.messages).toHaveLength(0);
    expect(proxy.requests.length).toBeLessThanOrEqual(8 * MAX_TRIES_PER_STEP);
    expect(h.provider("backup").messages).toHaveLength(8);
    for (const id of ids) expect((await view(id)).status).toBe("pending");
  });
});
