import { expect, it } from "vitest";
import type { AbuseBlock, ConversionKey } from "../../src/core/model.js";
import type { ConversionStore } from "../../src/core/store/conversion.js";

/**
 * The conversion guard's store, held to the same cases on every backend. Run inside
 * `describeStoreContract` on a fresh database; it is a separate object from the Store.
 */
export function describeConversionContract(getConversion: () => ConversionStore, T0: number) {
  const prefix: ConversionKey = { scope: "prefix", key: "+1415555" };
  const country: ConversionKey = { scope: "country", key: "US" };
  // The same text in the other scope: a different counter.
  const prefixNamedUs: ConversionKey = { scope: "prefix", key: "US" };
  const HOUR = 3_600_000;
  let seq = 0;
  const block = (over: Partial<AbuseBlock> = {}): AbuseBlock => ({
    id: `blk_${++seq}`,
    ...prefix,
    reason: "low_conversion_prefix",
    sends: 40,
    approvals: 1,
    mode: "enforce",
    createdAt: T0,
    expiresAt: T0 + HOUR,
    liftedAt: null,
    ...over,
  });

  it("counts sends and approvals per key and bucket, and sums the buckets in [from, to) in the order asked", async () => {
    const store = getConversion();
    await store.countConversion([prefix, country], T0, "sends");
    await store.countConversion([prefix], T0, "sends");
    await store.countConversion([prefix], T0, "approvals");
    await store.countConversion([prefix], T0 + HOUR, "sends"); // the next bucket
    await store.countConversion([prefix], T0 - HOUR, "sends"); // the one before
    await store.countConversion([], T0, "sends"); // nothing to count
    expect(await store.conversionTotals([country, prefix, prefixNamedUs], T0, T0 + HOUR)).toEqual([
      { sends: 1, approvals: 0 },
      { sends: 2, approvals: 1 },
      { sends: 0, approvals: 0 },
    ]);
    expect(await store.conversionTotals([prefix], T0 - HOUR, T0 + 2 * HOUR)).toEqual([{ sends: 4, approvals: 1 }]);
    expect(await store.conversionTotals([prefix], T0 + 1, T0 + HOUR)).toEqual([{ sends: 0, approvals: 0 }]);
    expect(await store.conversionTotals([], T0, T0 + HOUR)).toEqual([]);
  });

  it("adds one per time a key is named in one call", async () => {
    const store = getConversion();
    await store.countConversion([country, prefix, country], T0, "approvals");
    expect(await store.conversionTotals([country, prefix], T0, T0 + 1)).toEqual([
      { sends: 0, approvals: 2 },
      { sends: 0, approvals: 1 },
    ]);
  });

  it("opens one active block per scope and key, answering the active one to later openers", async () => {
    const store = getConversion();
    const first = block();
    expect(await store.openAbuseBlock(first, T0)).toEqual({ block: first, created: true });
    const again = await store.openAbuseBlock(block({ createdAt: T0 + 5, sends: 99 }), T0 + 5);
    expect(again).toEqual({ block: first, created: false }); // the prefix comes back in clear
    const countryBlock = block({ ...country, reason: "low_conversion_country", mode: "monitor" });
    expect((await store.openAbuseBlock(countryBlock, T0 + 6)).created).toBe(true);
    // Once the first has expired, the same prefix can be blocked anew.
    const later = block({ createdAt: T0 + HOUR, expiresAt: T0 + 2 * HOUR });
    expect(await store.openAbuseBlock(later, T0 + HOUR)).toEqual({ block: later, created: true });
  });

  it("opens exactly one block when several openers race for the same scope and key", async () => {
    const store = getConversion();
    const racers = [block(), block(), block(), block()];
    const outcomes = await Promise.all(racers.map((b) => store.openAbuseBlock(b, T0)));
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
    const winner = outcomes.find((o) => o.created)?.block;
    expect(outcomes.map((o) => o.block.id)).toEqual(racers.map(() => winner?.id));
    expect(await store.listActiveAbuseBlocks(T0)).toHaveLength(1);
  });

  it("lists the blocks active at a time, newest first", async () => {
    const store = getConversion();
    const old = block({ createdAt: T0 });
    const newer = block({ ...country, reason: "low_conversion_country", createdAt: T0 + 10 });
    const short = block({ ...prefixNamedUs, createdAt: T0 + 20, expiresAt: T0 + 30 });
    for (const b of [old, newer, short]) await store.openAbuseBlock(b, b.createdAt);
    expect(await store.listActiveAbuseBlocks(T0 + 25)).toEqual([short, newer, old]);
    expect((await store.listActiveAbuseBlocks(T0 + 30)).map((b) => b.id)).toEqual([newer.id, old.id]);
    await store.liftAbuseBlock(newer.id, T0 + 40);
    expect((await store.listActiveAbuseBlocks(T0 + 40)).map((b) => b.id)).toEqual([old.id]);
    expect(await store.listActiveAbuseBlocks(T0 + HOUR)).toEqual([]);
  });

  it("lifts an active block once and forgets its scope and key's counters, only theirs", async () => {
    const store = getConversion();
    await store.countConversion([prefix, country], T0 - HOUR, "sends");
    await store.countConversion([prefix, country], T0, "sends");
    const b = block();
    await store.openAbuseBlock(b, T0);
    expect(await store.liftAbuseBlock(b.id, T0 + 7)).toEqual({ ...b, liftedAt: T0 + 7 });
    expect(await store.conversionTotals([prefix, country], T0 - HOUR, T0 + HOUR)).toEqual([
      { sends: 0, approvals: 0 },
      { sends: 2, approvals: 0 },
    ]);
    expect(await store.liftAbuseBlock(b.id, T0 + 8)).toBeNull();
    expect(await store.liftAbuseBlock("blk_unknown", T0 + 8)).toBeNull();
    // An expired block is no longer active: there is nothing to lift, and its counters stay.
    await store.countConversion([country], T0, "sends");
    const expired = block({ ...country, reason: "low_conversion_country", expiresAt: T0 + 10 });
    await store.openAbuseBlock(expired, T0);
    expect(await store.liftAbuseBlock(expired.id, T0 + 10)).toBeNull();
    expect(await store.conversionTotals([country], T0, T0 + 1)).toEqual([{ sends: 2, approvals: 0 }]);
    // A lifted block no longer stands in the way of a new one.
    expect((await store.openAbuseBlock(block(), T0 + 9)).created).toBe(true);
  });

  it("purges the buckets that start before one time and the blocks that ended before another", async () => {
    const store = getConversion();
    for (const at of [T0 - 2 * HOUR, T0 - HOUR, T0]) await store.countConversion([prefix], at, "sends");
    const ended = block({ createdAt: T0 - 3 * HOUR, expiresAt: T0 - 2 * HOUR });
    const endsLater = block({ ...country, reason: "low_conversion_country", createdAt: T0 - 3 * HOUR, expiresAt: T0 + HOUR });
    await store.openAbuseBlock(ended, ended.createdAt);
    await store.openAbuseBlock(endsLater, endsLater.createdAt);
    await store.purgeConversion(T0 - HOUR, T0 - HOUR);
    expect(await store.conversionTotals([prefix], T0 - 3 * HOUR, T0 + HOUR)).toEqual([{ sends: 2, approvals: 0 }]);
    // Asked as of a time when both were active, only the block that had not ended is still stored.
    expect((await store.listActiveAbuseBlocks(T0 - 2.5 * HOUR)).map((b) => b.id)).toEqual([endsLater.id]);
  });
}
