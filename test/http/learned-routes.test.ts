import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_SERVICE_ID } from "../../src/core/services.js";
import { createHarness, type Harness } from "../helpers/harness.js";

const config = {
  providers: { wa: { type: "capture" }, sms1: { type: "capture" } },
  route: [
    { channel: "whatsapp", providers: ["wa"], fallbackAfter: "30s" },
    { channel: "sms", providers: ["sms1"] },
  ],
  prices: {
    currency: "EUR",
    providers: { wa: { whatsapp: { default: 0.08 } }, sms1: { sms: { default: 0.01 } } },
  },
};
const env = { VERIFYD_LEARNED_MIN_TRIES: "2", VERIFYD_LEARNED_EXPLORE: "0" };

type Attempt = {
  channel: string;
  provider: string;
  route_plan?: { reason: string; configured_step: number; figures: Record<string, number | null> | null };
};
type View = { id: string; channel: string; deliveries: Attempt[]; route_decision?: Record<string, unknown> };

/**
 * A GB history on WhatsApp → SMS: two WhatsApp messages delivered (0.08 each), one of them approved;
 * two without a receipt, fallen back to SMS (0.01 each) and approved. WhatsApp: 4 tries, 1 approval,
 * 0.04 per try, 0.16 per approval; SMS: 2 tries, 2 approvals, 0.01 per approval.
 */
async function history(h: Harness) {
  let message = 0;
  const send = async (n: number) => {
    const v = await h.startVerification(`+4474001234${10 + n}`);
    message++;
    return { ...v, wa: `msg_${message}` };
  };
  const check = async (id: string, code: string) =>
    expect((await h.json("POST", `/v1/verifications/${id}/check`, { code })).body.valid).toBe(true);
  const a = await send(1);
  await h.runtime.outbox.applyStatus("wa", { providerMessageId: a.wa, status: "delivered" });
  await check(a.id, a.code);
  const b = await send(2);
  const c = await send(3);
  h.clock.advance(31_000);
  await h.runtime.outbox.runOnce();
  await check(b.id, b.code);
  await check(c.id, c.code);
  const d = await send(4);
  await h.runtime.outbox.applyStatus("wa", { providerMessageId: d.wa, status: "delivered" });
  // Past the codes' lifetime, the history is settled and read.
  h.clock.advance(11 * 60_000);
}

/** Sets the service's route_mode; a key's cached service is refreshed within 5 s. */
async function routeMode(h: Harness, mode: string) {
  expect((await h.json("PATCH", `/v1/services/${DEFAULT_SERVICE_ID}`, { route_mode: mode })).status).toBe(200);
  h.clock.advance(5_000);
}

describe("learned route order through the API", () => {
  let h: Harness;
  afterEach(async () => h.close());

  it("starts a learned route with the cheaper success, and explains it on the attempt and in the logs", async () => {
    h = await createHarness(env, config);
    await history(h);
    await routeMode(h, "learned");
    const { id } = await h.startVerification("+447400123499");
    expect(h.provider("sms1").messages.at(-1)?.to).toBe("+447400123499");
    const view = await h.json<View>("GET", `/v1/verifications/${id}`);
    expect(view.body.channel).toBe("sms");
    expect(view.body.deliveries).toEqual([
      expect.objectContaining({
        channel: "sms",
        provider: "sms1",
        route_plan: {
          reason: "learned",
          configured_step: 1,
          figures: { tries: 2, approvals: 2, success_rate: 1, cost_per_try: 0.01, cost_per_approval: 0.01 },
        },
      }),
    ]);
    // Configured: 0.04 + 0.75 × 0.01 per approval (SMS always approves). Learned: 0.01.
    expect(view.body.route_decision).toEqual({
      mode: "learned",
      currency: "EUR",
      expected_configured: 0.0475,
      expected_chosen: 0.01,
      expected_saving: 0.0375,
      proposed: ["sms:sms1", "whatsapp:wa"],
      explored: false,
    });
    const line = h.logs.find((l) => l.includes('"msg":"learned route"'));
    expect(JSON.parse(line ?? "{}")).toMatchObject({
      country: "GB",
      chosen: ["sms:sms1", "whatsapp:wa"],
      expectedSaving: 0.0375,
    });
    const accepted = h.logs.find((l) => l.includes('"msg":"delivery accepted"') && l.includes(id));
    expect(JSON.parse(accepted ?? "{}").route_plan).toMatchObject({ reason: "learned", configuredIndex: 1 });
  });

  it("in shadow mode sends as configured and reports the learned order and the expected saving", async () => {
    h = await createHarness(env, config);
    await history(h);
    await routeMode(h, "shadow");
    const { id } = await h.startVerification("+447400123498");
    const view = await h.json<View>("GET", `/v1/verifications/${id}`);
    expect(view.body.deliveries.map((d) => [d.channel, d.route_plan?.reason])).toEqual([["whatsapp", "configured"]]);
    expect(view.body.route_decision).toMatchObject({
      mode: "shadow",
      proposed: ["sms:sms1", "whatsapp:wa"],
      expected_saving: 0.0375,
    });
    expect(h.logs.some((l) => l.includes("learned route (shadow: not applied)"))).toBe(true);
  });

  it("keeps the caller's own order of channels", async () => {
    h = await createHarness(env, config);
    await history(h);
    await routeMode(h, "learned");
    const res = await h.json<View>("POST", "/v1/verifications", { to: "+447400123497", channels: ["whatsapp", "sms"] });
    expect(res.body.channel).toBe("whatsapp");
  });

  it("refuses an unknown route_mode", async () => {
    h = await createHarness(env, config);
    const res = await h.json<{ code: string }>("PATCH", `/v1/services/${DEFAULT_SERVICE_ID}`, { route_mode: "cheapest" });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_request");
  });
});

describe("channel memory through the API", () => {
  let h: Harness;
  afterEach(async () => h.close());
  const to = "+447400123401";

  /** A first verification WhatsApp rejects ("not on WhatsApp"): SMS carries it and it is approved. */
  async function notOnWhatsApp() {
    h.provider("wa").script.push({ kind: "rejected", error: { code: "131026", message: "not on WhatsApp" } });
    const first = await h.startVerification(to);
    expect((await h.json("POST", `/v1/verifications/${first.id}/check`, { code: first.code })).body.valid).toBe(true);
  }
  const firstChannel = async () => {
    const v = await h.startVerification(to);
    const view = await h.json<View>("GET", `/v1/verifications/${v.id}`);
    await h.json("POST", `/v1/verifications/${v.id}/check`, { code: v.code });
    return view.body;
  };

  it("tries the channel a number failed on last; erasure forgets it", async () => {
    h = await createHarness({ VERIFYD_CHANNEL_MEMORY: "1h" }, config);
    await notOnWhatsApp();
    h.clock.advance(60_000);
    const again = await firstChannel();
    expect(again.deliveries.map((d) => [d.channel, d.route_plan?.reason, d.route_plan?.configured_step])).toEqual([
      ["sms", "configured", 1],
    ]);
    expect(again.route_decision).toMatchObject({ mode: "memory", proposed: ["sms:sms1", "whatsapp:wa"] });
    expect(await h.withStore(async (s) => (await s.recallChannels(to, h.clock.now())).map((r) => r.channel))).toEqual([
      "whatsapp",
    ]);
    const erased = await h.json<{ deleted: { channel_memory: number } }>("POST", "/v1/erasure", { to });
    expect(erased.body.deleted.channel_memory).toBe(1);
    expect((await firstChannel()).deliveries[0]?.channel).toBe("whatsapp");
  });

  it("forgets after its expiry, and is off unless configured", async () => {
    h = await createHarness({ VERIFYD_CHANNEL_MEMORY: "1h" }, config);
    await notOnWhatsApp();
    h.clock.advance(60 * 60_000);
    const later = await firstChannel();
    expect(later.deliveries[0]?.channel).toBe("whatsapp");
    expect(later.route_decision).toBeUndefined();
    await h.close();
    h = await createHarness({}, config);
    await notOnWhatsApp();
    expect((await firstChannel()).deliveries[0]?.channel).toBe("whatsapp");
    expect(await h.withStore((s) => s.recallChannels(to, h.clock.now()))).toEqual([]);
  });
});
