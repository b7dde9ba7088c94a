import { expect, it } from "vitest";
import type { OptOut } from "../../src/core/model.js";
import type { Store } from "../../src/core/store/index.js";

/**
 * The opt-out part of the Store contract, run inside `describeStoreContract` on a fresh store.
 * Split out only to keep each file readable.
 */
export function describeOptOutContract(getStore: () => Store, T0: number) {
  const A = "+14155550100";
  const B = "+14155550111";
  const optOut = (over: Partial<OptOut> = {}): OptOut => ({
    phone: A,
    channel: "sms",
    source: "keyword",
    keyword: "STOP",
    createdAt: T0,
    ...over,
  });

  it("records an opt-out per number and channel, keeping the first record", async () => {
    const store = getStore();
    expect(await store.isOptedOut(A, "sms")).toBe(false);
    expect(await store.addOptOut(optOut())).toBe(true);
    expect(await store.isOptedOut(A, "sms")).toBe(true);
    expect(await store.isOptedOut(A, "whatsapp")).toBe(false);
    expect(await store.isOptedOut(B, "sms")).toBe(false);
    expect(await store.addOptOut(optOut({ source: "api", keyword: null, createdAt: T0 + 5 }))).toBe(false);
    expect(await store.listOptOuts({ phone: A })).toEqual([optOut()]);
  });

  it("lifts an opt-out on its channel only", async () => {
    const store = getStore();
    await store.addOptOut(optOut());
    await store.addOptOut(optOut({ channel: "whatsapp", createdAt: T0 + 1 }));
    expect(await store.removeOptOut(A, "sms")).toBe(true);
    expect(await store.removeOptOut(A, "sms")).toBe(false);
    expect(await store.removeOptOut(B, "whatsapp")).toBe(false);
    expect(await store.isOptedOut(A, "sms")).toBe(false);
    expect(await store.isOptedOut(A, "whatsapp")).toBe(true);
    expect(await store.addOptOut(optOut({ createdAt: T0 + 2 }))).toBe(true);
    expect(await store.isOptedOut(A, "sms")).toBe(true);
  });

  it("lists newest first, narrowed by phone and channel, up to a limit", async () => {
    const store = getStore();
    const first = optOut();
    const second = optOut({ phone: B, channel: "whatsapp", source: "provider", keyword: null, createdAt: T0 + 1 });
    const third = optOut({ channel: "rcs", source: "api", keyword: null, createdAt: T0 + 2 });
    for (const o of [first, second, third]) await store.addOptOut(o);
    expect(await store.listOptOuts({})).toEqual([third, second, first]);
    expect(await store.listOptOuts({ phone: A })).toEqual([third, first]);
    expect(await store.listOptOuts({ channel: "whatsapp" })).toEqual([second]);
    expect(await store.listOptOuts({ phone: A, channel: "whatsapp" })).toEqual([]);
    expect(await store.listOptOuts({ limit: 1 })).toEqual([third]);
  });
}
