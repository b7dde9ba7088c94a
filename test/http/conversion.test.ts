import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";

/** These tests read the SQLite file itself; the store contract holds PostgreSQL to the same. */
const sqliteFileOnly = onSharedBackends();

type Problem = { code: string; status: number; reasons?: string[] };
type Block = { id: string; scope: string; key: string; reason: string; sends: number; approvals: number; mode: string };
type Started = Problem & { id: string };

/** Numbers +141555501NN: one hundred numbers sharing the prefix +1415555. */
const pumped = (i: number) => `+141555501${String(i).padStart(2, "0")}`;
/** Numbers +121255501NN, another US prefix. */
const honest = (i: number) => `+121255501${String(i).padStart(2, "0")}`;
/** Twenty UK mobiles, each in a prefix of its own (+447400NN). */
const british = (i: number) => `+447400${String(i).padStart(2, "0")}3456`;

/** Reads the harness's database with a connection of its own. */
function rows(h: Harness, sql: string): Record<string, unknown>[] {
  const db = new Database(h.dbPath, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Past the settle delay (10 min) and into the next one-minute bucket, so the burst is judged. */
const SETTLED = 11 * 60_000;

describe("conversion guard", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const start = (harness: Harness, to: string) => harness.json<Started>("POST", "/v1/verifications", { to });
  const blocks = async (harness: Harness) => (await harness.json<{ data: Block[] }>("GET", "/v1/abuse/blocks")).body.data;

  /** Twenty sends to `to(i)`, of which the first `approved` are approved with their code. */
  async function traffic(harness: Harness, to: (i: number) => string, approved: number) {
    for (let i = 0; i < 20; i++) {
      const { id, code } = await harness.startVerification(to(i));
      if (i < approved) {
        const res = await harness.json<{ valid: boolean }>("POST", `/v1/verifications/${id}/check`, { code });
        expect(res.body.valid).toBe(true);
      }
    }
  }

  /** A pumping burst to one prefix (no approvals) amid honest US traffic (all approved). */
  async function pump(harness: Harness) {
    await traffic(harness, honest, 20);
    await traffic(harness, pumped, 0);
    harness.clock.advance(SETTLED);
  }

  it("blocks an email domain whose codes are never entered with 403 low_conversion_domain; other domains pass", async () => {
    h = await createHarness({}, { route: [{ channel: "email", providers: ["console"] }] });
    await traffic(h, (i) => `member${i}@good.example`, 20);
    await traffic(h, (i) => `bot${i}@farm.example`, 0);
    h.clock.advance(SETTLED);
    const refused = await start(h, "bot99@farm.example");
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "blocked", reasons: ["low_conversion_domain"] });
    expect((await start(h, "member99@good.example")).status).toBe(201);
    expect(await blocks(h)).toEqual([
      expect.objectContaining({ scope: "domain", key: "farm.example", reason: "low_conversion_domain", sends: 20, approvals: 0 }),
    ]);
    // Stored by blind index, the domain is not in the database in clear; the block keeps it sealed.
    if (!sqliteFileOnly) {
      expect(JSON.stringify(rows(h, "select * from conversion_counts"))).not.toContain("farm.example");
      expect(JSON.stringify(rows(h, "select scope, key from abuse_blocks"))).not.toContain("farm.example");
    }
  });

  it("blocks a prefix pumped without approvals with 403 low_conversion_prefix, and lifts it after the cool-down", async () => {
    h = await createHarness();
    await pump(h);
    const refused = await start(h, pumped(50));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "blocked", status: 403, reasons: ["low_conversion_prefix"] });
    expect(Number(refused.headers.get("retry-after"))).toBe(3600);
    expect((await start(h, pumped(51))).body.reasons).toEqual(["low_conversion_prefix"]);
    // The country converts (20 of 40), and so does the other prefix.
    expect((await start(h, honest(50))).status).toBe(201);
    expect(await blocks(h)).toEqual([
      expect.objectContaining({ scope: "prefix", key: "+1415555", reason: "low_conversion_prefix", sends: 20, approvals: 0 }),
    ]);
    expect(h.sender.messages.filter((m) => m.to === pumped(50) || m.to === pumped(51))).toEqual([]);

    h.clock.advance(60 * 60_000); // the cool-down
    expect(await blocks(h)).toEqual([]);
    expect((await start(h, pumped(52))).status).toBe(201);
  });

  it("refuses resends of a blocked prefix too", async () => {
    h = await createHarness({ VERIFYD_CODE_TTL: "30m" });
    await pump(h);
    const pending = h.sender.messages.find((m) => m.to === pumped(3));
    const res = await h.json<Problem>("POST", `/v1/verifications/${pending?.verificationId}/resend`);
    expect(res.status).toBe(403);
    expect(res.body.reasons).toEqual(["low_conversion_prefix"]);
  });

  it("leaves a normal mix alone: most codes approved", async () => {
    h = await createHarness();
    await traffic(h, pumped, 17);
    h.clock.advance(SETTLED);
    expect((await start(h, pumped(50))).status).toBe(201);
    expect(await blocks(h)).toEqual([]);
  });

  it("does not judge sends still within the settle delay", async () => {
    h = await createHarness();
    await traffic(h, pumped, 0);
    h.clock.advance(5 * 60_000); // the codes could still be entered
    expect((await start(h, pumped(50))).status).toBe(201);
    expect(await blocks(h)).toEqual([]);
  });

  it("blocks a country whose sends do not convert, across many prefixes", async () => {
    h = await createHarness();
    await traffic(h, british, 0);
    h.clock.advance(SETTLED);
    const refused = await start(h, "+447400993456");
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "blocked", reasons: ["low_conversion_country"] });
    expect((await start(h, honest(0))).status).toBe(201);
    expect(await blocks(h)).toEqual([
      expect.objectContaining({ scope: "country", key: "GB", reason: "low_conversion_country", sends: 20, approvals: 0 }),
    ]);
  });

  it("in monitor mode records the block, logs and counts, and sends anyway", async () => {
    h = await createHarness({ VERIFYD_ABUSE_MODE: "monitor" });
    await pump(h);
    expect((await start(h, pumped(50))).status).toBe(201);
    expect(h.sender.messages.some((m) => m.to === pumped(50))).toBe(true);
    expect(await blocks(h)).toEqual([expect.objectContaining({ key: "+1415555", mode: "monitor" })]);
    const line = h.logs.find((l) => l.includes("conversion guard would refuse"));
    expect(JSON.parse(line as string)).toMatchObject({
      level: 40,
      to: "+1415***0150",
      reasons: ["low_conversion_prefix"],
      mode: "monitor",
    });
    expect(h.logs.some((l) => l.includes(pumped(50)))).toBe(false);
    const metrics = await (await h.call("GET", "/metrics")).text();
    expect(metrics).toContain('verifyd_conversion_guard_total{action="opened",reason="low_conversion_prefix"} 1');
    expect(metrics).toContain('verifyd_conversion_guard_total{action="monitored",reason="low_conversion_prefix"} 1');
  });

  it("never counts or blocks allow-listed numbers", async () => {
    h = await createHarness({ VERIFYD_ALLOW_NUMBERS: "+1415555" });
    await traffic(h, pumped, 0);
    h.clock.advance(SETTLED);
    expect((await start(h, pumped(50))).status).toBe(201);
    expect(await blocks(h)).toEqual([]);
  });

  it("lets an admin lift a block, which resets its counters", async () => {
    h = await createHarness();
    await pump(h);
    expect((await start(h, pumped(50))).status).toBe(403);
    const [block] = await blocks(h);
    expect((await h.call("DELETE", `/v1/abuse/blocks/${block?.id}`)).status).toBe(204);
    expect(await blocks(h)).toEqual([]);
    expect((await start(h, pumped(51))).status).toBe(201);
    expect((await start(h, pumped(52))).status).toBe(201);
    const again = await h.json<Problem>("DELETE", `/v1/abuse/blocks/${block?.id}`);
    expect(again.status).toBe(404);
    expect(again.body.code).toBe("abuse_block_not_found");
  });

  it("answers 403 forbidden to keys of a service", async () => {
    h = await createHarness();
    await pump(h);
    await start(h, pumped(50));
    const [block] = await blocks(h);
    const other = await h.otherServiceKey();
    const list = await h.json<Problem>("GET", "/v1/abuse/blocks", undefined, other);
    expect(list.status).toBe(403);
    expect(list.body.code).toBe("forbidden");
    expect((await h.call("DELETE", `/v1/abuse/blocks/${block?.id}`, undefined, other)).status).toBe(403);
    expect(await blocks(h)).toHaveLength(1);
  });

  it.skipIf(sqliteFileOnly)(
    "keys prefixes by blind index and countries as is, keeps the blocked prefix sealed, and purges counters",
    async () => {
      h = await createHarness();
      await pump(h);
      await start(h, pumped(50));
      const keys = rows(h, "select distinct scope, key from conversion_counts order by scope, key");
      expect(keys.map((k) => k.scope)).toEqual(["country", "prefix", "prefix"]);
      expect(keys[0]?.key).toBe("US");
      for (const k of keys.slice(1)) expect(k.key).toMatch(/^[A-Za-z0-9_-]{43}$/); // an HMAC, not "+1415555"
      const stored = rows(h, "select key, key_sealed from abuse_blocks");
      expect(stored).toHaveLength(1);
      expect(String(stored[0]?.key)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(String(stored[0]?.key_sealed)).not.toContain("1415555");
      // The admin listing shows the prefix itself, opened from its sealed copy.
      expect((await blocks(h)).map((b) => b.key)).toEqual(["+1415555"]);
      h.clock.advance(2 * 60 * 60_000); // past settle + window: the burst's buckets are of no more use
      expect((await start(h, honest(60))).status).toBe(201);
      expect(rows(h, "select bucket_start from conversion_counts").map((r) => r.bucket_start)).toEqual([
        h.clock.now(),
        h.clock.now(),
      ]);
    },
  );

  it("reads its settings, and refuses bad ones naming the variable", () => {
    expect(loadConfig({}).conversion).toEqual({
      windowMs: 3_600_000,
      minSends: 20,
      threshold: 0.1,
      cooldownMs: 3_600_000,
      settleMs: 600_000,
    });
    expect(loadConfig({ VERIFYD_CONVERSION_THRESHOLD: "0" }).conversion.threshold).toBe(0);
    expect(() => loadConfig({ VERIFYD_CONVERSION_THRESHOLD: "2" })).toThrow(/VERIFYD_CONVERSION_THRESHOLD/);
    expect(() => loadConfig({ VERIFYD_CONVERSION_MIN_SENDS: "0" })).toThrow(/VERIFYD_CONVERSION_MIN_SENDS/);
    expect(() => loadConfig({ VERIFYD_CONVERSION_WINDOW: "10s" })).toThrow(/VERIFYD_CONVERSION_WINDOW/);
  });

  it("is off with a threshold of 0", async () => {
    h = await createHarness({ VERIFYD_CONVERSION_THRESHOLD: "0" });
    await pump(h);
    expect((await start(h, pumped(50))).status).toBe(201);
    expect(await blocks(h)).toEqual([]);
  });
});
