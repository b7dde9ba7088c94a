import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env.js";
import {
  approved,
  blocks,
  HOUR,
  MINUTE,
  neighbour,
  type Problem,
  pumped,
  refused,
  SETTLED,
  sent,
} from "../helpers/conversion.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";

/** These tests read the SQLite file itself; the store contract holds PostgreSQL to the same. */
const sqliteFileOnly = onSharedBackends();

/** UK mobiles +4474NN123456: each in a prefix and a range of its own. */
const spreadGb = (i: number) => `+4474${String(i).padStart(2, "0")}123456`;

/** Reads the harness's database with a connection of its own. */
function rows(h: Harness, sql: string): Record<string, unknown>[] {
  const db = new Database(h.dbPath, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

describe("conversion guard", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /**
   * A trusted prefix pumped: ten approvals in its range, one in the prefix, then ten unanswered
   * sends to it, settled: the prefix converts 1 in 11.
   */
  async function pump(harness: Harness) {
    for (let i = 0; i < 10; i++) await approved(harness, neighbour(i));
    await approved(harness, pumped(0));
    for (let i = 1; i <= 10; i++) await sent(harness, pumped(i));
    harness.clock.advance(SETTLED);
  }

  it("holds and blocks an email domain whose codes are never entered (unproven_domain); other domains pass", async () => {
    h = await createHarness({}, { route: [{ channel: "email", providers: ["console"] }] });
    for (let i = 0; i < 10; i++) await approved(h, `member${i}@good.example`);
    for (let i = 0; i < 5; i++) await sent(h, `bot${i}@farm.example`);
    await refused(h, "bot5@farm.example", ["unproven_domain"]);
    h.clock.advance(SETTLED);
    await refused(h, "bot99@farm.example", ["unproven_domain"]);
    await sent(h, "member99@good.example");
    expect(await blocks(h)).toEqual([
      expect.objectContaining({ scope: "domain", key: "farm.example", reason: "unproven_domain", sends: 5, approvals: 0 }),
    ]);
    // Stored by blind index, the domain is not in the database in clear; the block keeps it sealed.
    if (!sqliteFileOnly) {
      expect(JSON.stringify(rows(h, "select * from conversion_counts"))).not.toContain("farm.example");
      expect(JSON.stringify(rows(h, "select scope, key from abuse_blocks"))).not.toContain("farm.example");
    }
  });

  it("blocks a prefix whose sends stop converting with 403 low_conversion_prefix, and lifts it after the cool-down", async () => {
    h = await createHarness();
    await pump(h);
    const res = await refused(h, pumped(50), ["low_conversion_prefix"]);
    expect(res.headers.get("retry-after")).toBe("3600");
    await refused(h, pumped(51), ["low_conversion_prefix"]);
    await sent(h, neighbour(50)); // the range converts, and so does the country
    expect(await blocks(h)).toEqual([
      expect.objectContaining({
        scope: "prefix",
        key: "+1415555",
        reason: "low_conversion_prefix",
        sends: 11,
        approvals: 1,
        repeat: 1,
        mode: "enforce",
      }),
    ]);
    expect(h.sender.messages.filter((m) => m.to === pumped(50) || m.to === pumped(51))).toEqual([]);

    h.clock.advance(HOUR); // the cool-down
    expect(await blocks(h)).toEqual([]);
    await sent(h, pumped(52));
  });

  it("refuses resends of a blocked prefix too", async () => {
    h = await createHarness({ VERIFYD_CODE_TTL: "30m" });
    await pump(h);
    await refused(h, pumped(50), ["low_conversion_prefix"]);
    const pending = h.sender.messages.find((m) => m.to === pumped(3));
    const res = await h.json<Problem>("POST", `/v1/verifications/${pending?.verificationId}/resend`);
    expect(res.status).toBe(403);
    expect(res.body.reasons).toEqual(["low_conversion_prefix"]);
  });

  it("leaves a normal mix alone: most codes approved", async () => {
    h = await createHarness();
    for (let i = 0; i < 20; i++) {
      if (i % 7 === 6) await sent(h, pumped(i));
      else await approved(h, pumped(i));
    }
    h.clock.advance(SETTLED);
    await sent(h, pumped(50));
    expect(await blocks(h)).toEqual([]);
  });

  it("does not judge sends still within the settle delay", async () => {
    h = await createHarness();
    for (let i = 0; i < 10; i++) await approved(h, neighbour(i));
    await approved(h, pumped(0));
    for (let i = 1; i <= 10; i++) await sent(h, pumped(i));
    h.clock.advance(5 * MINUTE); // the codes could still be entered
    await sent(h, pumped(50));
    expect(await blocks(h)).toEqual([]);
  });

  it("holds and blocks a country whose sends do not convert, across prefixes and ranges", async () => {
    h = await createHarness();
    for (let i = 0; i < 5; i++) await sent(h, spreadGb(i));
    await refused(h, spreadGb(5), ["unproven_country"]);
    await sent(h, pumped(0)); // another country
    h.clock.advance(SETTLED);
    await refused(h, spreadGb(6), ["unproven_country"]);
    expect(await blocks(h)).toEqual([
      expect.objectContaining({ scope: "country", key: "GB", reason: "unproven_country", sends: 5, approvals: 0 }),
    ]);
  });

  it("never counts or refuses allow-listed numbers", async () => {
    h = await createHarness({ VERIFYD_ALLOW_NUMBERS: "+1415555" });
    for (let i = 0; i < 20; i++) await sent(h, pumped(i));
    h.clock.advance(SETTLED);
    await sent(h, pumped(50));
    expect(await blocks(h)).toEqual([]);
  });

  it("lets an admin lift a block, which resets its counters and vouches for the destination", async () => {
    h = await createHarness();
    for (let i = 0; i < 5; i++) await sent(h, pumped(i));
    h.clock.advance(SETTLED);
    await refused(h, pumped(5), ["unproven_prefix", "unproven_range", "unproven_country"]);
    const opened = await blocks(h);
    expect(opened).toHaveLength(3);
    for (const b of opened) expect((await h.call("DELETE", `/v1/abuse/blocks/${b.id}`)).status).toBe(204);
    expect(await blocks(h)).toEqual([]);
    // Vouched for, the destination is trusted: 10 unanswered sends rather than 5 on probation.
    for (let i = 10; i < 20; i++) await sent(h, pumped(i));
    await refused(h, pumped(20), ["low_conversion_prefix", "low_conversion_range", "low_conversion_country"]);
    const again = await h.json<Problem>("DELETE", `/v1/abuse/blocks/${opened[0]?.id}`);
    expect(again.status).toBe(404);
    expect(again.body.code).toBe("abuse_block_not_found");
  });

  it("answers 403 forbidden to keys of a service", async () => {
    h = await createHarness();
    await pump(h);
    await refused(h, pumped(50), ["low_conversion_prefix"]);
    const [block] = await blocks(h);
    const other = await h.otherServiceKey();
    const list = await h.json<Problem>("GET", "/v1/abuse/blocks", undefined, other);
    expect(list.status).toBe(403);
    expect(list.body.code).toBe("forbidden");
    expect((await h.call("DELETE", `/v1/abuse/blocks/${block?.id}`, undefined, other)).status).toBe(403);
    expect(await blocks(h)).toHaveLength(1);
  });

  it.skipIf(sqliteFileOnly)(
    "keys prefixes, ranges and numbers by blind index and countries as is, keeps a blocked prefix sealed, and purges counters",
    async () => {
      h = await createHarness();
      await pump(h);
      await refused(h, pumped(50), ["low_conversion_prefix"]);
      const keys = rows(h, "select distinct scope, key from conversion_counts order by scope, key");
      expect(keys.map((k) => k.scope)).toEqual(["country", "prefix", "prefix", "range"]);
      expect(keys[0]?.key).toBe("US");
      for (const k of keys.slice(1)) expect(k.key).toMatch(/^[A-Za-z0-9_-]{43}$/); // an HMAC, not "+1415555"
      const history = rows(h, "select scope, key from conversion_history where scope <> 'country'");
      expect(history.map((r) => r.scope).sort()).toEqual([...Array(11).fill("destination"), "prefix", "prefix", "range"]);
      for (const r of history) expect(r.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const stored = rows(h, "select key, key_sealed from abuse_blocks");
      expect(stored).toHaveLength(1);
      expect(String(stored[0]?.key)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(String(stored[0]?.key_sealed)).not.toContain("1415555");
      // The admin listing shows the prefix itself, opened from its sealed copy.
      expect((await blocks(h)).map((b) => b.key)).toEqual(["+1415555"]);
      h.clock.advance(2 * HOUR); // past settle + window: the buckets are of no more use
      await sent(h, neighbour(60));
      expect(rows(h, "select distinct bucket_start from conversion_counts").map((r) => r.bucket_start)).toEqual([h.clock.now()]);
    },
  );

  it("reads its settings, and refuses bad ones naming the variable", () => {
    expect(loadConfig({}).conversion).toEqual({
      windowMs: HOUR,
      minSends: 10,
      threshold: 0.1,
      cooldownsMs: [HOUR, 4 * HOUR, 24 * HOUR],
      settleMs: 10 * MINUTE,
      probationSends: 5,
      memoryMs: 30 * 24 * HOUR,
    });
    expect(loadConfig({ VERIFYD_CONVERSION_COOLDOWN: "30m" }).conversion.cooldownsMs).toEqual([30 * MINUTE]);
    expect(loadConfig({ VERIFYD_CONVERSION_COOLDOWN: "1h, 2d" }).conversion.cooldownsMs).toEqual([HOUR, 48 * HOUR]);
    expect(loadConfig({ VERIFYD_CONVERSION_THRESHOLD: "0" }).conversion.threshold).toBe(0);
    expect(() => loadConfig({ VERIFYD_CONVERSION_THRESHOLD: "2" })).toThrow(/VERIFYD_CONVERSION_THRESHOLD/);
    expect(() => loadConfig({ VERIFYD_CONVERSION_MIN_SENDS: "0" })).toThrow(/VERIFYD_CONVERSION_MIN_SENDS/);
    expect(() => loadConfig({ VERIFYD_CONVERSION_PROBATION_SENDS: "0" })).toThrow(/VERIFYD_CONVERSION_PROBATION_SENDS/);
    expect(() => loadConfig({ VERIFYD_CONVERSION_WINDOW: "10s" })).toThrow(/VERIFYD_CONVERSION_WINDOW/);
    expect(() => loadConfig({ VERIFYD_CONVERSION_MEMORY: "10m" })).toThrow(/VERIFYD_CONVERSION_MEMORY/);
    expect(() => loadConfig({ VERIFYD_CONVERSION_COOLDOWN: "1h,soon" })).toThrow(/VERIFYD_CONVERSION_COOLDOWN.*"soon"/);
    expect(() => loadConfig({ VERIFYD_CONVERSION_COOLDOWN: "1h,10s" })).toThrow(/VERIFYD_CONVERSION_COOLDOWN.*at least 1m/);
  });

  it("is off with a threshold of 0", async () => {
    h = await createHarness({ VERIFYD_CONVERSION_THRESHOLD: "0" });
    for (let i = 0; i < 20; i++) await sent(h, pumped(i));
    h.clock.advance(SETTLED);
    await sent(h, pumped(50));
    expect(await blocks(h)).toEqual([]);
  });
});
