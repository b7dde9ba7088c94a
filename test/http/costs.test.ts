import { afterEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

const config = {
  providers: { wa: { type: "capture" }, sms1: { type: "capture" } },
  route: [
    { channel: "whatsapp", providers: ["wa"], fallbackAfter: "30s" },
    { channel: "sms", providers: ["sms1"] },
  ],
  prices: {
    currency: "EUR",
    providers: {
      wa: { whatsapp: { default: 0.03 } },
      sms1: { sms: { default: 0.05, countries: { US: 0.01 } } },
    },
  },
};

type Group = {
  key: Record<string, string>;
  requested: number;
  approved: number;
  conversion: number;
  messages_sent: number;
  billable_messages: number;
  billable_messages_per_approval: number | null;
  cost: number | null;
  cost_per_approval: number | null;
  currency: string | null;
  unpriced_messages: number;
};

/** The value of the sample `name{labels}` in a Prometheus exposition; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    const m = /^(\w+)\{(.*)\}\s+(\S+)$/.exec(line);
    if (m?.[1] === name && want.every((w) => (m[2] as string).split(",").includes(w))) return Number(m[3]);
  }
  return undefined;
}

/**
 * Three verifications on WhatsApp → SMS: one delivered on WhatsApp and approved (0.03), one without a
 * WhatsApp receipt that falls back to SMS in the US and is approved (the undelivered WhatsApp is free,
 * the SMS 0.01), one whose WhatsApp fails in Germany and falls back to SMS (0.05), never approved.
 */
async function traffic(h: Harness) {
  const a = await h.startVerification("+14155550100");
  await h.runtime.outbox.applyStatus("wa", { providerMessageId: "msg_1", status: "delivered" });
  expect((await h.json("POST", `/v1/verifications/${a.id}/check`, { code: a.code })).body.valid).toBe(true);

  const b = await h.startVerification("+14155550101");
  h.clock.advance(31_000);
  await h.runtime.outbox.runOnce();
  expect(h.provider("sms1").messages.map((m) => m.to)).toEqual(["+14155550101"]);
  expect((await h.json("POST", `/v1/verifications/${b.id}/check`, { code: b.code })).body.valid).toBe(true);

  await h.startVerification("+4915112345678");
  await h.runtime.outbox.applyStatus("wa", { providerMessageId: "msg_3", status: "failed", errorCode: "131026" });
  expect(h.provider("sms1").messages.map((m) => m.to)).toEqual(["+14155550101", "+4915112345678"]);
  // The range ends before "now" (exclusive): what was created this instant is in the next one.
  h.clock.advance(1_000);
}

describe("cost per approved verification", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("answers cost, billable messages and conversion per country in the analytics API", async () => {
    h = await createHarness({}, config);
    await traffic(h);
    const res = await h.json<{ groups: Group[] }>("GET", "/v1/analytics?group_by=country");
    expect(res.status).toBe(200);
    expect(res.body.groups).toEqual([
      expect.objectContaining({
        key: { country: "DE" },
        requested: 1,
        approved: 0,
        conversion: 0,
        messages_sent: 2,
        billable_messages: 1,
        billable_messages_per_approval: null,
        cost: 0.05,
        cost_per_approval: null,
        currency: "EUR",
        unpriced_messages: 0,
      }),
      expect.objectContaining({
        key: { country: "US" },
        requested: 2,
        approved: 2,
        conversion: 1,
        messages_sent: 3,
        billable_messages: 2,
        billable_messages_per_approval: 1,
        cost: 0.04,
        cost_per_approval: 0.02,
        currency: "EUR",
        unpriced_messages: 0,
      }),
    ]);
  });

  it("exports cost per approval by country, channel and provider in /metrics", async () => {
    h = await createHarness({}, config);
    await traffic(h);
    const text = await (await h.runtime.app.request("/metrics")).text();
    const us = { country: "US", currency: "EUR" };
    expect(sample(text, "verifyd_cost_per_approval", { ...us, channel: "whatsapp", provider: "wa" })).toBe(0.03);
    expect(sample(text, "verifyd_cost_per_approval", { ...us, channel: "sms", provider: "sms1" })).toBe(0.01);
    expect(sample(text, "verifyd_cost", { country: "DE", channel: "sms", provider: "sms1", currency: "EUR" })).toBe(0.05);
    expect(sample(text, "verifyd_cost_per_approval", { country: "DE", channel: "sms", provider: "sms1" })).toBeUndefined();
    expect(sample(text, "verifyd_window_conversion", { ...us, channel: "sms", provider: "sms1" })).toBe(1);
  });

  it("has no cost figures without a price table", async () => {
    h = await createHarness({}, { ...config, prices: undefined });
    await h.startVerification("+14155550100");
    h.clock.advance(1_000);
    const res = await h.json<{ groups: Group[] }>("GET", "/v1/analytics?group_by=channel");
    expect(res.body.groups[0]).toMatchObject({ cost: null, cost_per_approval: null, currency: null, unpriced_messages: 0 });
    expect(await (await h.runtime.app.request("/metrics")).text()).not.toContain("verifyd_cost_per_approval");
  });

  it("refuses a price table naming an unknown provider or a bad amount, naming the field", async () => {
    await expect(
      createHarness({}, { ...config, prices: { currency: "EUR", providers: { twillio: { sms: { default: 0.01 } } } } }),
    ).rejects.toThrow(/config\.prices\.providers: provider "twillio" is not configured/);
    await expect(
      createHarness({}, { ...config, prices: { currency: "euro", providers: { sms1: { sms: { default: -1 } } } } }),
    ).rejects.toThrow(/currency[\s\S]*ISO 4217[\s\S]*default/);
    await expect(createHarness({}, { ...config, prices: { currency: "EUR", providers: { sms1: { sms: {} } } } })).rejects.toThrow(
      /needs a `default` or some `countries`/,
    );
  });
});
