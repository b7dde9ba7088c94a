import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFactorService, type FactorService } from "../../src/core/factors.js";
import type { Service } from "../../src/core/model.js";
import { DEFAULT_SETTINGS } from "../../src/core/service-settings.js";
import type { Store } from "../../src/core/store/index.js";
import { createTotpSealer, toBase32 } from "../../src/core/totp.js";
import { uuidIds } from "../../src/runtime.js";
import { sqliteStores } from "../../src/store/backends.js";
import { migrateSqlite, openSqlite } from "../../src/store/sqlite/open.js";
import { FakeClock } from "../helpers/clock.js";
import { codeAt, wrongCodeAt } from "../helpers/totp.js";
import { testVault } from "../store/fixtures.js";

/**
 * The factor service over the real SQLite store (in memory) with a fake clock. The secret source is
 * the test seam: RFC 6238's own secret makes the appendix B vectors run through the whole challenge path.
 */

const RFC_SECRET = "12345678901234567890";
const RFC_VECTORS: [number, string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
];

const service: Service = {
  id: "svc_default",
  name: "verifyd",
  policy: { codeLength: 6, ttlMs: 600_000, maxChecks: 5, maxSends: 5, resendCooldownMs: 30_000, resendPolicy: "same" },
  route: [],
  countryRoutes: {},
  settings: DEFAULT_SETTINGS,
};

describe("factor service", () => {
  let store: Store;
  let clock: FakeClock;
  let secrets: Buffer[];
  let factors: FactorService;

  beforeEach(async () => {
    store = sqliteStores(
      (() => {
        const opened = openSqlite(":memory:");
        migrateSqlite(opened.db);
        return opened;
      })(),
      testVault,
    ).store;
    await store.ensureService({ id: service.id, name: service.name, route: [] }, 0);
    clock = new FakeClock(59_000); // the first RFC 6238 vector's time
    secrets = [];
    factors = createFactorService({
      store,
      clock,
      ids: uuidIds,
      sealer: createTotpSealer("unit-test-secret-0123456789abcdefghijklmnop"),
      lockout: { maxFailures: 3, lockMs: 60_000 },
      newSecret: () => secrets.shift() ?? Buffer.from(RFC_SECRET, "ascii"),
    });
  });
  afterEach(async () => store.close());

  it("runs the RFC 6238 appendix B SHA-1 vectors through activation and challenges", async () => {
    const { factor, otpauthUri } = await factors.create(service, { entityId: "user_1", digits: 8 });
    expect(otpauthUri).toContain(`secret=${toBase32(Buffer.from(RFC_SECRET))}&`);
    const [[, first], ...rest] = RFC_VECTORS as [[number, string], ...[number, string][]];
    expect(await factors.verify(service, factor.id, first)).toMatchObject({ valid: true, factor: { status: "verified" } });
    for (const [t, code] of rest) {
      clock.advance(t * 1000 - clock.now());
      const outcome = await factors.challenge(service, { factorId: factor.id }, code);
      expect(outcome).toMatchObject({ valid: true, reason: null, factor: { id: factor.id, lastStep: Math.floor(t / 30) } });
    }
    const last = RFC_VECTORS[RFC_VECTORS.length - 1]!;
    expect(await factors.challenge(service, { entityId: "user_1" }, last[1])).toMatchObject({
      valid: false,
      reason: "replayed",
      factor: { id: factor.id },
    });
  });

  it("refuses challenges on an unverified factor without counting them", async () => {
    const { factor } = await factors.create(service, { entityId: "user_1", digits: 8 });
    const byId = await factors.challenge(service, { factorId: factor.id }, "94287082");
    expect(byId).toMatchObject({ valid: false, reason: "not_verified", factor: { id: factor.id } });
    expect(await factors.challenge(service, { entityId: "user_1" }, "94287082")).toMatchObject({ reason: "not_verified" });
    expect((await factors.get(service, factor.id)).failedAttempts).toBe(0);
    // The code stays usable for activation: nothing was accepted.
    expect((await factors.verify(service, factor.id, "94287082")).valid).toBe(true);
  });

  it("answers not_found for unknown factors and entities, and for another service", async () => {
    const { factor } = await factors.create(service, { entityId: "user_1", digits: 8 });
    const other = { ...service, id: "svc_other" };
    expect(await factors.challenge(service, { factorId: "fct_nope" }, "94287082")).toEqual({
      valid: false,
      reason: "not_found",
      factor: null,
    });
    expect(await factors.challenge(service, { entityId: "user_2" }, "94287082")).toMatchObject({ reason: "not_found" });
    expect(await factors.verify(other, factor.id, "94287082")).toMatchObject({ reason: "not_found", factor: null });
    expect(await factors.list(other, "user_1")).toEqual([]);
    await expect(factors.get(other, factor.id)).rejects.toMatchObject({ code: "factor_not_found" });
    await expect(factors.remove(other, factor.id)).rejects.toMatchObject({ code: "factor_not_found" });
  });

  it("locks after consecutive wrong codes, refuses the right code while locked, and unlocks after the cool-down", async () => {
    const { factor } = await factors.create(service, { entityId: "user_1", digits: 8 });
    await factors.verify(service, factor.id, "94287082");
    const p = { secret: toBase32(Buffer.from(RFC_SECRET)), digits: 8 };
    clock.advance(300_000);
    const wrong = await wrongCodeAt(p, clock.now());
    for (const n of [1, 2]) {
      expect(await factors.challenge(service, { factorId: factor.id }, wrong)).toMatchObject({
        reason: "wrong_code",
        factor: { failedAttempts: n, lockedUntil: null },
      });
    }
    const third = await factors.challenge(service, { factorId: factor.id }, wrong);
    expect(third).toMatchObject({ reason: "wrong_code", factor: { lockedUntil: clock.now() + 60_000 } });
    expect(await factors.challenge(service, { factorId: factor.id }, await codeAt(p, clock.now()))).toMatchObject({
      valid: false,
      reason: "locked",
    });
    clock.advance(59_999);
    expect((await factors.challenge(service, { factorId: factor.id }, await codeAt(p, clock.now()))).reason).toBe("locked");
    clock.advance(1);
    const after = await factors.challenge(service, { factorId: factor.id }, await codeAt(p, clock.now()));
    expect(after).toMatchObject({ valid: true, factor: { failedAttempts: 0, lockedUntil: null } });
  });

  it("tries every verified factor of an entity; a success clears the failures of the others", async () => {
    const second = Buffer.from("abcdefghijklmnopqrst", "ascii");
    const a = (await factors.create(service, { entityId: "user_1", digits: 8 })).factor;
    secrets.push(second);
    const b = (await factors.create(service, { entityId: "user_1", digits: 8 })).factor;
    const pa = { secret: toBase32(Buffer.from(RFC_SECRET)), digits: 8 };
    const pb = { secret: toBase32(second), digits: 8 };
    expect((await factors.verify(service, a.id, await codeAt(pa, clock.now()))).valid).toBe(true);
    expect((await factors.verify(service, b.id, await codeAt(pb, clock.now()))).valid).toBe(true);
    clock.advance(60_000);

    const viaB = await factors.challenge(service, { entityId: "user_1" }, await codeAt(pb, clock.now()));
    expect(viaB).toMatchObject({ valid: true, factor: { id: b.id } });
    expect((await factors.get(service, a.id)).failedAttempts).toBe(0);

    const miss = await factors.challenge(service, { entityId: "user_1" }, await wrongCodeAt([pa, pb], clock.now()));
    expect(miss).toMatchObject({ valid: false, reason: "wrong_code", factor: null });
    expect((await factors.list(service, "user_1")).map((f) => f.failedAttempts)).toEqual([1, 1]);
  });
});
