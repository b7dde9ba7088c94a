import { expect, it } from "vitest";
import type { AbuseBlock, ConversionKey } from "../../src/core/model.js";
import type { ConversionStore } from "../../src/core/store/conversion.js";

/**
 * The conversion guard's store, held to the same cases on every backend. Run inside
 * `describeStoreContract` on a fresh database; it is a separate object from the Store.
 */
export function describeConversionContract(getConversion: () => ConversionStore, T0: number) {
  const prefix: ConversionKey = { scope: "prefix", key: "+1415555" };
  const range: ConversionKey = { scope: "range", key: "+14155" };
  const country: ConversionKey = { scope: "country", key: "US" };
  // The same text in the other scope: a different counter.
  const prefixNamedUs: ConversionKey = { scope: "prefix", key: "US" };
  const HOUR = 3_600_000;
  /** The number whose approvals the cases count. */
  const NUMBER = "+14155550123";
  let seq = 0;
  const block = (over: Partial<AbuseBlock> = {}): AbuseBlock => ({
    id: `blk_${++seq}`,
    ...prefix,
    reason: "low_conversion_prefix",
    sends: 40,
    approvals: 1,
    mode: "enforce",
    repeat: 1,
    createdAt: T0,
    expiresAt: T0 + HOUR,
    liftedAt: null,
    ...over,
  });

  /** The settled window used below: the hour before T0; later buckets are unsettled. */
  const FROM = T0 - HOUR;
  const TO = T0;
  /** A bucket before the window: counting in it reads the keys' standing without changing their sums. */
  const AWAY = T0 - 100 * HOUR;
  const read = (store: ConversionStore, keys: ConversionKey[]) => store.countSend(keys, AWAY, FROM, TO);
  const totals = async (store: ConversionStore, keys: ConversionKey[]) =>
    (await read(store, keys)).map((s) => ({ settled: s.settled, unsettled: s.unsettled }));

  it("counts a send per key and bucket, returning each key's sums before and after the settle, this send included, in the order asked", async () => {
    const store = getConversion();
    await store.countSend([prefix, country], T0 - HOUR, FROM, TO); // the window's first bucket
    await store.countSend([prefix], T0 - 1, FROM, TO); // its last
    await store.countApproval([prefix], T0 - 1, T0, NUMBER);
    await store.countSend([prefix], T0, FROM, TO); // unsettled
    await store.countSend([prefix], T0 - HOUR - 1, FROM, TO); // before the window
    const standing = await store.countSend([country, prefix, prefixNamedUs, range], T0 + HOUR, FROM, TO);
    expect(standing.map((s) => [s.settled, s.unsettled])).toEqual([
      [
        { sends: 1, approvals: 0 },
        { sends: 1, approvals: 0 },
      ],
      [
        { sends: 2, approvals: 1 },
        { sends: 2, approvals: 0 },
      ],
      [
        { sends: 0, approvals: 0 },
        { sends: 1, approvals: 0 },
      ],
      [
        { sends: 0, approvals: 0 },
        { sends: 1, approvals: 0 },
      ],
    ]);
    // A send counted in a settled cohort (a resend of an older verification) is on that side.
    const [again] = await store.countSend([prefix], T0 - HOUR, FROM, TO);
    expect(again?.settled).toEqual({ sends: 3, approvals: 1 });
    expect(await store.countSend([], T0, FROM, TO)).toEqual([]);
  });

  it("takes back a refused send from its bucket, never below zero", async () => {
    const store = getConversion();
    await store.countSend([prefix, country], T0 - 1, FROM, TO);
    await store.countSend([prefix], T0 - 1, FROM, TO);
    await store.uncountSend([prefix, country], T0 - 1);
    await store.uncountSend([country], T0 - 1); // already at zero
    await store.uncountSend([range], T0 - 1); // never counted
    expect((await totals(store, [prefix, country, range])).map((t) => t.settled.sends)).toEqual([1, 0, 0]);
    expect(await totals(store, [country])).toEqual([
      { settled: { sends: 0, approvals: 0 }, unsettled: { sends: 0, approvals: 0 } },
    ]);
  });

  it("adds one per time a key is named in one call", async () => {
    const store = getConversion();
    await store.countSend([country, prefix, country], T0 - 1, FROM, TO);
    await store.countApproval([country, prefix, country], T0 - 1, T0, NUMBER);
    expect(await totals(store, [country, prefix])).toEqual([
      { settled: { sends: 2, approvals: 2 }, unsettled: { sends: 0, approvals: 0 } },
      { settled: { sends: 1, approvals: 1 }, unsettled: { sends: 0, approvals: 0 } },
    ]);
  });

  it("remembers each key's latest approval, and the end of its latest block", async () => {
    const store = getConversion();
    const history = async (k: ConversionKey) => {
      const [s] = await read(store, [k]);
      return { lastApprovedAt: s?.lastApprovedAt, blockedUntil: s?.blockedUntil };
    };
    expect(await history(prefix)).toEqual({ lastApprovedAt: null, blockedUntil: null });
    await store.countApproval([prefix, range], T0 - HOUR, T0 + 5, NUMBER);
    await store.countApproval([prefix], T0 - HOUR, T0 + 3, NUMBER); // an earlier time does not go back
    expect(await history(prefix)).toEqual({ lastApprovedAt: T0 + 5, blockedUntil: null });
    expect(await history(range)).toEqual({ lastApprovedAt: T0 + 5, blockedUntil: null });
    await store.openAbuseBlock(block({ expiresAt: T0 + HOUR }), T0);
    expect(await history(prefix)).toEqual({ lastApprovedAt: T0 + 5, blockedUntil: T0 + HOUR });
    expect(await history(country)).toEqual({ lastApprovedAt: null, blockedUntil: null });
  });

  it("remembers the numbers approved, by the latest time", async () => {
    const store = getConversion();
    expect(await store.destinationApprovedSince(NUMBER, T0 - HOUR)).toBe(false);
    await store.countApproval([prefix], T0, T0, NUMBER);
    await store.countApproval([], T0, T0 - 2 * HOUR, "+14155550124"); // a number alone
    expect(await store.destinationApprovedSince(NUMBER, T0 - HOUR)).toBe(true);
    expect(await store.destinationApprovedSince(NUMBER, T0)).toBe(true);
    expect(await store.destinationApprovedSince(NUMBER, T0 + 1)).toBe(false);
    expect(await store.destinationApprovedSince("+14155550124", T0 - 3 * HOUR)).toBe(true);
    expect(await store.destinationApprovedSince("+14155550124", T0 - HOUR)).toBe(false);
    expect(await store.destinationApprovedSince("+14155550125", 0)).toBe(false);
  });

  it("counts a key's blocks opened since a time, leaving out lifted ones and other keys", async () => {
    const store = getConversion();
    const first = block({ createdAt: T0 - 3 * HOUR, expiresAt: T0 - 2 * HOUR });
    const second = block({ createdAt: T0 - HOUR, expiresAt: T0 - HOUR / 2, repeat: 2 });
    const lifted = block({ createdAt: T0, expiresAt: T0 + HOUR });
    for (const b of [first, second, lifted]) await store.openAbuseBlock(b, b.createdAt);
    await store.openAbuseBlock(block({ ...country, reason: "unproven_country" }), T0);
    await store.liftAbuseBlock(lifted.id, T0 + 1);
    expect(await store.countAbuseBlocks(prefix, T0 - 4 * HOUR)).toBe(2);
    expect(await store.countAbuseBlocks(prefix, T0 - 2 * HOUR)).toBe(1);
    expect(await store.countAbuseBlocks(prefixNamedUs, T0 - 4 * HOUR)).toBe(0);
    expect(await store.countAbuseBlocks(country, T0 - 4 * HOUR)).toBe(1);
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

  it("lifts an active block once, forgets its scope and key's counters (only theirs) and vouches for the key", async () => {
    const store = getConversion();
    await store.countSend([prefix, country], T0 - HOUR, FROM, TO);
    await store.countSend([prefix, country], T0, FROM, TO);
    const b = block();
    await store.openAbuseBlock(b, T0);
    expect(await store.liftAbuseBlock(b.id, T0 + 7)).toEqual({ ...b, liftedAt: T0 + 7 });
    const [vouched, untouched] = await read(store, [prefix, country]);
    expect(vouched).toEqual({
      settled: { sends: 0, approvals: 0 },
      unsettled: { sends: 0, approvals: 0 },
      lastApprovedAt: T0 + 7,
      blockedUntil: null,
    });
    expect(untouched?.settled).toEqual({ sends: 1, approvals: 0 });
    expect(await store.liftAbuseBlock(b.id, T0 + 8)).toBeNull();
    expect(await store.liftAbuseBlock("blk_unknown", T0 + 8)).toBeNull();
    // An expired block is no longer active: there is nothing to lift, and its counters stay.
    const expired = block({ ...country, reason: "low_conversion_country", expiresAt: T0 + 10 });
    await store.openAbuseBlock(expired, T0);
    expect(await store.liftAbuseBlock(expired.id, T0 + 10)).toBeNull();
    expect((await totals(store, [country]))[0]?.settled).toEqual({ sends: 1, approvals: 0 });
    // A lifted block no longer stands in the way of a new one.
    expect((await store.openAbuseBlock(block(), T0 + 9)).created).toBe(true);
  });

  it("purges buckets, blocks and history older than the times given", async () => {
    const store = getConversion();
    for (const at of [T0 - 2 * HOUR, T0 - HOUR, T0]) await store.countSend([prefix], at, FROM, TO);
    await store.countApproval([range], T0 - 2 * HOUR, T0 - 2 * HOUR, NUMBER); // remembered until the purge
    await store.countApproval([country], T0, T0, NUMBER); // recent enough to stay
    await store.countApproval([], T0, T0 - 2 * HOUR, "+14155550124"); // a number approved long ago
    const ended = block({ createdAt: T0 - 3 * HOUR, expiresAt: T0 - 2 * HOUR });
    const endsLater = block({ ...country, reason: "low_conversion_country", createdAt: T0 - 3 * HOUR, expiresAt: T0 + HOUR });
    await store.openAbuseBlock(ended, ended.createdAt);
    await store.openAbuseBlock(endsLater, endsLater.createdAt);
    await store.purgeConversion(T0 - HOUR, T0 - HOUR, T0 - HOUR);
    const [p, r, c] = await store.countSend([prefix, range, country], AWAY, T0 - 3 * HOUR, T0 + HOUR);
    expect(p?.settled.sends).toBe(2);
    // The prefix's block ended before the purge's time, and so did the range's only approval.
    expect([p?.blockedUntil, r?.lastApprovedAt, r?.settled.approvals]).toEqual([null, null, 0]);
    expect([c?.lastApprovedAt, c?.blockedUntil]).toEqual([T0, T0 + HOUR]);
    expect(await store.destinationApprovedSince("+14155550124", 0)).toBe(false);
    expect(await store.destinationApprovedSince(NUMBER, 0)).toBe(true);
    // Asked as of a time when both were active, only the block that had not ended is still stored.
    expect((await store.listActiveAbuseBlocks(T0 - 2.5 * HOUR)).map((b) => b.id)).toEqual([endsLater.id]);
  });
}
