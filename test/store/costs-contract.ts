import { expect, it } from "vitest";
import { createAnalyticsService } from "../../src/core/analytics.js";
import { priceFingerprint } from "../../src/core/prices.js";
import type { Store } from "../../src/core/store/index.js";
import { seedAnalytics } from "../helpers/analytics-seed.js";
import { FakeClock } from "../helpers/clock.js";
import { SEED_PRICES, SEED_PRICES_DAY2 } from "../helpers/seed-prices.js";

const DAY = 86_400_000;

/**
 * The cost part of the Store contract (price table versions, attempt counts, route step statistics)
 * and channel memory, run inside `describeStoreContract` on a fresh store.
 */
export function describeCostContract(getStore: () => Store, T0: number) {
  // The seed's day 2 starts its traffic at 09:00 UTC: the second table is in force from then.
  const day1 = Math.floor(T0 / DAY) * DAY;
  const day2Traffic = day1 + DAY + 9 * 3_600_000;

  const seedWithPrices = async (store: Store) => {
    expect(await store.registerPriceTable(SEED_PRICES, priceFingerprint(SEED_PRICES), day1)).toBe(1);
    expect(await store.registerPriceTable(SEED_PRICES, priceFingerprint(SEED_PRICES), day1 + 5)).toBe(1);
    expect(await store.registerPriceTable(SEED_PRICES_DAY2, priceFingerprint(SEED_PRICES_DAY2), day2Traffic)).toBe(2);
    await store.ensureService({ id: "svc_other", name: "Other", route: [] }, T0);
    await seedAnalytics(store, "svc_test", day1);
  };

  it("registers a price table version only when the table changed, and lists them", async () => {
    const store = getStore();
    await seedWithPrices(store);
    const versions = await store.listPriceVersions();
    expect(versions.map((v) => [v.version, v.validFrom])).toEqual([
      [1, day1],
      [2, day2Traffic],
    ]);
    expect(versions[1]?.table).toEqual(SEED_PRICES_DAY2);
  });

  it("prices every attempt at the version in force when it was created: cost per approval by country", async () => {
    const store = getStore();
    await seedWithPrices(store);
    const analytics = createAnalyticsService({ store, clock: new FakeClock(day1 + 3 * DAY), currency: "EUR" });
    const { groups } = await analytics.funnel({ from: day1, to: day1 + 2 * DAY, groupBy: ["country"], serviceId: "svc_test" });
    const view = Object.fromEntries(
      groups.map((g) => [
        g.key.country,
        [
          g.requested,
          g.approved,
          g.billableMessages,
          g.cost,
          g.costPerApproval,
          g.billableMessagesPerApproval,
          g.unpricedMessages,
        ],
      ]),
    );
    expect(view).toEqual({
      // Five accepted SMS at 0.0075 (a resend included); two approvals.
      US: [4, 2, 5, 0.0375, 0.01875, 2.5, 0],
      // 0.04 (day 1 SMS) + 0.05 (day 2 SMS, the new version) + 0.02 (a delivered WhatsApp; the failed one is free).
      GB: [3, 3, 3, 0.11, 0.036667, 1, 0],
      DE: [1, 0, 0, 0, null, null, 0],
    });
    expect(groups.every((g) => g.currency === "EUR")).toBe(true);
  });

  it("groups cost by route step and by channel and provider together", async () => {
    const store = getStore();
    await seedWithPrices(store);
    const analytics = createAnalyticsService({ store, clock: new FakeClock(day1 + 3 * DAY), currency: "EUR" });
    const byStep = await analytics.funnel({ from: day1, to: day1 + 2 * DAY, groupBy: ["step"], serviceId: "svc_test" });
    expect(byStep.groups.map((g) => [g.key.step, g.requested, g.approved, g.cost, g.costPerApproval])).toEqual([
      ["0", 6, 3, 0.0575, 0.019167],
      ["1", 2, 2, 0.09, 0.045],
    ]);
    const three = await analytics.funnel({
      from: day1,
      to: day1 + 2 * DAY,
      groupBy: ["country", "channel", "provider"],
      serviceId: "svc_test",
    });
    expect(three.groups.map((g) => [Object.values(g.key).join("/"), g.costPerApproval])).toEqual([
      ["DE/sms/vn", null],
      ["GB/sms/vn", 0.045],
      ["GB/whatsapp/wa", 0.02],
      ["US/sms/tw", 0.01875],
    ]);
  });

  it("counts an unpriced message as unpriced, and costs nothing without a currency", async () => {
    const store = getStore();
    await store.ensureService({ id: "svc_other", name: "Other", route: [] }, T0);
    await seedAnalytics(store, "svc_test", day1);
    const none = createAnalyticsService({ store, clock: new FakeClock(day1 + 3 * DAY) });
    const { groups } = await none.funnel({ from: day1, to: day1 + 2 * DAY, groupBy: ["country"], serviceId: "svc_test" });
    expect(groups.map((g) => [g.key.country, g.cost, g.costPerApproval, g.billableMessages, g.unpricedMessages])).toEqual([
      ["DE", null, null, 0, 0],
      ["GB", null, null, 3, 3],
      ["US", null, null, 5, 5],
    ]);
  });

  it("reports each route step's tries, approvals and priced attempts for a country", async () => {
    const store = getStore();
    await seedWithPrices(store);
    const stats = await store.stepStats({ serviceId: "svc_test", country: "GB", from: day1, to: day1 + 2 * DAY });
    expect(stats.steps).toEqual([
      { channel: "sms", provider: "vn", tried: 2, approved: 2 },
      { channel: "whatsapp", provider: "wa", tried: 3, approved: 1 },
    ]);
    expect(
      stats.attempts.map((a) => [a.stepChannel, a.stepProvider, a.provider, a.priceVersion, a.accepted, a.delivered]),
    ).toEqual([
      ["sms", "vn", "vn", 1, 1, 1],
      ["sms", "vn", "vn", 2, 1, 1],
      ["whatsapp", "wa", "wa", 1, 0, 0],
      ["whatsapp", "wa", "wa", 2, 2, 1],
    ]);
  });

  it("remembers a destination's last outcome per channel until it expires, by blind index", async () => {
    const store = getStore();
    const A = "+14155550100";
    await store.rememberChannel(A, { channel: "sms", outcome: "delivered", at: T0 }, T0 + 100);
    await store.rememberChannel(A, { channel: "whatsapp", outcome: "failed", at: T0 + 5 }, T0 + 105);
    // An older outcome arriving late does not replace a newer one.
    await store.rememberChannel(A, { channel: "whatsapp", outcome: "delivered", at: T0 + 1 }, T0 + 101);
    expect(await store.recallChannels(A, T0 + 50)).toEqual([
      { channel: "whatsapp", outcome: "failed", at: T0 + 5 },
      { channel: "sms", outcome: "delivered", at: T0 },
    ]);
    expect(await store.recallChannels("+14155550111", T0 + 50)).toEqual([]);
    expect(await store.recallChannels(A, T0 + 100)).toEqual([{ channel: "whatsapp", outcome: "failed", at: T0 + 5 }]);
    expect(await store.purgeChannelMemory(T0 + 100, 10)).toBe(1);
    expect(await store.forgetChannels(A)).toBe(1);
    expect(await store.recallChannels(A, T0 + 50)).toEqual([]);
  });
}
