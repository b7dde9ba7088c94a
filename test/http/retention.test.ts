import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { purgeCommand } from "../../src/commands/purge.js";
import { createNumberVault } from "../../src/core/number-vault.js";
import { createHarness, type Harness, TEST_SECRET } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";

/** These tests read the SQLite file itself; the store contract holds PostgreSQL to the same. */
const sqliteFileOnly = onSharedBackends();

/**
 * Retention and erasure end to end: the purge (CLI command and worker pass) and `POST /v1/erasure`,
 * each checked by reading the SQLite tables directly.
 */

const DAY = 86_400_000;
const USER = "+14155550160";
const OTHER = "+14155550161";
const THIRD = "+14155550162";

type Erasure = {
  to: string;
  deleted: {
    verifications: number;
    deliveries: number;
    idempotency_keys: number;
    rate_limits: number;
    opt_outs: number;
    channel_memory: number;
  };
};

/** Reads the harness's database with a connection of its own. */
function query<T = Record<string, unknown>>(h: Harness, sql: string, ...params: unknown[]): T[] {
  const db = new Database(h.dbPath, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}
/** Numbers are stored by their blind index (docs/security.md, Data at rest). */
const vault = createNumberVault(TEST_SECRET);
const idsTo = (h: Harness, to: string) =>
  query<{ id: string }>(h, "select id from verifications where to_number = ? order by created_at", vault.index(to)).map(
    (r) => r.id,
  );
const deliveriesOf = (h: Harness, id: string) => query(h, "select id from deliveries where verification_id = ?", id).length;
const idempotencyFor = (h: Harness, id: string) =>
  query(h, "select key from idempotency_keys where verification_id = ?", id).length;
const rateLimitKeys = (h: Harness) => query<{ key: string }>(h, "select key from rate_limits order by key").map((r) => r.key);
const optOutsOf = (h: Harness, phone: string) =>
  query(h, "select channel from opt_outs where phone = ?", vault.index(phone)).length;

describe("retention purge", () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const startClosed = async (to: string, key?: string) => {
    const res = await h.json<{ id: string }>("POST", "/v1/verifications", { to }, key ? { "idempotency-key": key } : {});
    expect(res.status).toBe(201);
    expect((await h.call("POST", `/v1/verifications/${res.body.id}/cancel`)).status).toBe(200);
    return res.body.id;
  };

  it.skipIf(sqliteFileOnly)(
    "deletes closed verifications past the window with their deliveries; keeps younger and pending ones",
    async () => {
      h = await createHarness();
      const old = await startClosed(USER, "old-key");
      const { id: pending } = await h.startVerification(THIRD); // never closed: no worker pass runs here
      h.clock.advance(2 * DAY);
      const young = await startClosed(OTHER);
      h.clock.advance(29 * DAY); // old is 31 days old, young 29
      const freshKey = await startClosed("+14155550163", "fresh-key");
      for (const id of [old, young, pending, freshKey]) expect(deliveriesOf(h, id)).toBe(1);

      const out: string[] = [];
      const counts = await purgeCommand(
        { dbPath: h.dbPath, retentionMs: 30 * DAY, secret: TEST_SECRET },
        { clock: h.clock, write: (text) => out.push(text) },
      );
      expect(counts).toEqual({ verifications: 1, deliveries: 1, idempotencyKeys: 1, channelMemory: 0 });
      expect(out.join("")).toMatch(/retention 30d\): 1 verifications, 1 deliveries, 1 idempotency keys\n$/);

      expect(query(h, "select id from verifications where id = ?", old)).toEqual([]);
      expect(deliveriesOf(h, old)).toBe(0);
      expect(idempotencyFor(h, old)).toBe(0);
      expect(idsTo(h, OTHER)).toEqual([young]);
      expect(deliveriesOf(h, young)).toBe(1);
      expect(query<{ status: string }>(h, "select status from verifications where id = ?", pending)).toEqual([
        { status: "pending" },
      ]);
      expect(deliveriesOf(h, pending)).toBe(1);
      expect(idempotencyFor(h, freshKey)).toBe(1);

      const again: string[] = [];
      await purgeCommand(
        { dbPath: h.dbPath, retentionMs: 30 * DAY, secret: TEST_SECRET },
        { clock: h.clock, write: (t) => again.push(t) },
      );
      expect(again.join("")).toMatch(/: 0 verifications, 0 deliveries, 0 idempotency keys\n$/);
    },
  );

  it.skipIf(sqliteFileOnly)("runs from the worker pass at most once an hour, with VERIFYD_RETENTION", async () => {
    h = await createHarness({ VERIFYD_RETENTION: "2d" });
    const purges = () => h.logs.filter((l) => l.includes('"msg":"retention purge"')).length;
    const first = await startClosed(USER);
    h.clock.advance(3 * DAY);
    await h.runtime.outbox.runOnce();
    expect(purges()).toBe(1);
    expect(query(h, "select id from verifications where id = ?", first)).toEqual([]);

    const second = await startClosed(OTHER);
    h.clock.advance(3 * DAY);
    const third = await startClosed(THIRD);
    await h.runtime.outbox.runOnce();
    expect(purges()).toBe(2);
    expect(query(h, "select id from verifications where id = ?", second)).toEqual([]);
    expect(idsTo(h, THIRD)).toEqual([third]);
    h.clock.advance(3 * DAY);
    await h.runtime.outbox.runOnce();
    expect(purges()).toBe(3);
    expect(query(h, "select id from verifications where id = ?", third)).toEqual([]);
    // Within the hour, a pass leaves the purge alone.
    h.clock.advance(59 * 60_000);
    await h.runtime.outbox.runOnce();
    expect(purges()).toBe(3);
  });
});

describe("POST /v1/erasure", () => {
  let h: Harness;
  afterEach(async () => h?.close());

  /** A start with an idempotency key, a wrong check (a failed-check counter) and a cancel; then a pending start. */
  const history = async (to: string) => {
    const first = await h.json<{ id: string }>("POST", "/v1/verifications", { to }, { "idempotency-key": `k-${to}` });
    expect(first.status).toBe(201);
    const code = h.sender.messages.at(-1)?.code;
    const wrong = code === "000000" ? "111111" : "000000";
    expect((await h.json("POST", `/v1/verifications/${first.body.id}/check`, { code: wrong })).body).toMatchObject({
      valid: false,
    });
    expect((await h.call("POST", `/v1/verifications/${first.body.id}/cancel`)).status).toBe(200);
    const { id: second } = await h.startVerification(to);
    expect((await h.json("POST", "/v1/opt-outs", { phone: to, channel: "whatsapp" })).status).toBe(201);
    return [first.body.id, second];
  };

  it.skipIf(sqliteFileOnly)(
    "deletes every row about the number, keeps its opt-out unless asked, and leaves other numbers alone",
    async () => {
      h = await createHarness();
      const [u1, u2] = (await history(USER)) as [string, string];
      const [o1, o2] = (await history(OTHER)) as [string, string];
      expect(idsTo(h, USER)).toEqual([u1, u2]);
      expect(idempotencyFor(h, u1)).toBe(1);
      const limitsOf = (to: string) => [
        `failed_checks_per_destination:${vault.index(to)}`,
        `sends_per_destination:${vault.index(to)}`,
      ];
      const userLimits = limitsOf(USER);
      const otherLimits = limitsOf(OTHER);
      expect(rateLimitKeys(h)).toEqual(expect.arrayContaining([...userLimits, ...otherLimits]));

      const res = await h.json<Erasure>("POST", "/v1/erasure", { to: "+1 (415) 555-0160" });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        to: USER,
        deleted: { verifications: 2, deliveries: 2, idempotency_keys: 1, rate_limits: 2, opt_outs: 0, channel_memory: 0 },
      });
      expect(idsTo(h, USER)).toEqual([]);
      for (const id of [u1, u2]) {
        expect(deliveriesOf(h, id)).toBe(0);
        expect(idempotencyFor(h, id)).toBe(0);
      }
      const limits = rateLimitKeys(h);
      for (const key of userLimits) expect(limits).not.toContain(key);
      expect(optOutsOf(h, USER)).toBe(1); // kept: a legal obligation

      // The other number is untouched.
      expect(idsTo(h, OTHER)).toEqual([o1, o2]);
      expect(deliveriesOf(h, o1) + deliveriesOf(h, o2)).toBe(2);
      expect(idempotencyFor(h, o1)).toBe(1);
      expect(limits).toEqual(expect.arrayContaining(otherLimits));
      expect(optOutsOf(h, OTHER)).toBe(1);

      const withOptOut = await h.json<Erasure>("POST", "/v1/erasure", { to: USER, include_opt_out: true });
      expect(withOptOut.body.deleted).toEqual({
        verifications: 0,
        deliveries: 0,
        idempotency_keys: 0,
        rate_limits: 0,
        opt_outs: 1,
        channel_memory: 0,
      });
      expect(optOutsOf(h, USER)).toBe(0);
      expect(optOutsOf(h, OTHER)).toBe(1);
      expect(idsTo(h, OTHER)).toHaveLength(2);
    },
  );

  it("validates the body", async () => {
    h = await createHarness();
    expect((await h.json("POST", "/v1/erasure", { to: "12345" })).body).toMatchObject({ code: "invalid_phone_number" });
    expect((await h.json("POST", "/v1/erasure", { to: USER, include_opt_out: "yes" })).status).toBe(400);
    expect((await h.json("POST", "/v1/erasure", { to: USER, extra: 1 })).status).toBe(400);
  });

  it.skipIf(sqliteFileOnly)("is refused to a service's key", async () => {
    h = await createHarness();
    await h.startVerification(USER);
    const res = await h.json("POST", "/v1/erasure", { to: USER }, await h.otherServiceKey());
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ status: 403, code: "forbidden" });
    expect(idsTo(h, USER)).toHaveLength(1);
  });
});
