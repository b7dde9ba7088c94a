import { expect, it } from "vitest";
import type { StoredFactor } from "../../src/core/model.js";
import type { Store } from "../../src/core/store/index.js";

/**
 * The factor part of the Store contract, run inside `describeStoreContract` on a fresh store whose
 * service `svc_test` exists. Split out only to keep each file readable.
 */
export function describeFactorContract(getStore: () => Store, T0: number) {
  let seq = 0;
  const lockout = { maxFailures: 3, lockMs: 60_000 };
  const factor = (over: Partial<StoredFactor> = {}): StoredFactor => ({
    id: `fct_${++seq}`,
    serviceId: "svc_test",
    entityId: "user_1",
    label: null,
    digits: 6,
    period: 30,
    status: "unverified",
    lastStep: null,
    failedAttempts: 0,
    lockedUntil: null,
    createdAt: T0 + seq,
    updatedAt: T0 + seq,
    sealedSecret: Buffer.from(`sealed-${seq}`),
    ...over,
  });
  const create = async (over: Partial<StoredFactor> = {}) => {
    const f = factor(over);
    await getStore().createFactor(f);
    return f;
  };

  it("stores factors, lists an entity's oldest first, and scopes every read and delete to the service", async () => {
    const store = getStore();
    const a = await create({ label: "phone", digits: 8, period: 60 });
    const b = await create();
    await create({ entityId: "user_2" });
    expect(await store.getFactor("svc_test", a.id)).toEqual(a);
    expect((await store.listFactors("svc_test", "user_1")).map((f) => f.id)).toEqual([a.id, b.id]);
    expect(await store.getFactor("svc_other", a.id)).toBeNull();
    expect(await store.listFactors("svc_other", "user_1")).toEqual([]);
    expect(await store.deleteFactor("svc_other", a.id)).toBe(false);
    expect(await store.deleteFactor("svc_test", a.id)).toBe(true);
    expect(await store.deleteFactor("svc_test", a.id)).toBe(false);
    expect(await store.getFactor("svc_test", a.id)).toBeNull();
    expect(await store.acceptFactorStep({ id: a.id, step: 1, now: T0, activate: true })).toEqual({
      kind: "refused",
      reason: "not_found",
    });
    expect(await store.beginFactorAttempt({ id: a.id, now: T0, ...lockout })).toEqual({ kind: "not_found" });
  });

  it("accepts each step once, only upwards, and activates when asked", async () => {
    const store = getStore();
    const f = await create();
    const first = await store.acceptFactorStep({ id: f.id, step: 100, now: T0 + 1, activate: false });
    expect(first).toMatchObject({ kind: "accepted", factor: { status: "unverified", lastStep: 100, updatedAt: T0 + 1 } });
    expect(first.kind === "accepted" && "sealedSecret" in first.factor).toBe(false);
    expect(await store.acceptFactorStep({ id: f.id, step: 100, now: T0 + 2, activate: true })).toEqual({
      kind: "refused",
      reason: "replayed",
    });
    expect(await store.acceptFactorStep({ id: f.id, step: 99, now: T0 + 2, activate: true })).toMatchObject({
      reason: "replayed",
    });
    const next = await store.acceptFactorStep({ id: f.id, step: 101, now: T0 + 3, activate: true });
    expect(next).toMatchObject({ kind: "accepted", factor: { status: "verified", lastStep: 101 } });
    expect(await store.getFactor("svc_test", f.id)).toMatchObject({ status: "verified", lastStep: 101 });
  });

  it("accepts one of many concurrent accepts of the same step", async () => {
    const store = getStore();
    const f = await create();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => store.acceptFactorStep({ id: f.id, step: 7, now: T0, activate: true })),
    );
    expect(results.filter((r) => r.kind === "accepted")).toHaveLength(1);
    expect(results.filter((r) => r.kind === "refused" && r.reason === "replayed")).toHaveLength(9);
  });

  it("counts attempts up front, locks at the limit, refuses while locked, and a success clears the count", async () => {
    const store = getStore();
    const f = await create({ status: "verified", lastStep: 5 });
    const begin = (now: number) => store.beginFactorAttempt({ id: f.id, now, ...lockout });
    const first = await begin(T0);
    expect(first).toMatchObject({ kind: "counted", factor: { failedAttempts: 1, lockedUntil: null, lastStep: 5 } });
    expect(first.kind === "counted" && first.factor.sealedSecret.equals(f.sealedSecret)).toBe(true);
    expect(await begin(T0)).toMatchObject({ kind: "counted", factor: { failedAttempts: 2, lockedUntil: null } });
    // The attempt that reaches the limit is still counted (and compared); it sets the lock.
    expect(await begin(T0 + 5)).toMatchObject({ kind: "counted", factor: { failedAttempts: 3, lockedUntil: T0 + 5 + 60_000 } });
    // While locked nothing is counted.
    expect(await begin(T0 + 60_004)).toMatchObject({ kind: "locked", factor: { failedAttempts: 3, lockedUntil: T0 + 60_005 } });
    expect((await store.getFactor("svc_test", f.id))?.failedAttempts).toBe(3);
    // After the cool-down the count is still at the limit: the next attempt locks again at once.
    expect(await begin(T0 + 60_005)).toMatchObject({ kind: "counted", factor: { failedAttempts: 4, lockedUntil: T0 + 120_005 } });
    // A success clears count and lock, so the attempt that set the lock can still succeed.
    const accepted = await store.acceptFactorStep({ id: f.id, step: 6, now: T0 + 60_006, activate: false });
    expect(accepted).toMatchObject({ kind: "accepted", factor: { failedAttempts: 0, lockedUntil: null, lastStep: 6 } });
    expect(await begin(T0 + 60_007)).toMatchObject({ kind: "counted", factor: { failedAttempts: 1, lockedUntil: null } });
  });

  it("clears the failures of the other factors a successful challenge tried", async () => {
    const store = getStore();
    const a = await create({ status: "verified" });
    const b = await create({ status: "verified" });
    const c = await create({ status: "verified" });
    for (const f of [a, b, c]) for (let i = 0; i < 3; i++) await store.beginFactorAttempt({ id: f.id, now: T0, ...lockout });
    await store.acceptFactorStep({ id: a.id, step: 1, now: T0 + 1, activate: false, alsoReset: [b.id] });
    const after = await store.listFactors("svc_test", "user_1");
    expect(after.map((f) => [f.id, f.failedAttempts, f.lockedUntil])).toEqual([
      [a.id, 0, null],
      [b.id, 0, null],
      [c.id, 3, T0 + 60_000],
    ]);
    // A refused accept clears nothing.
    await store.acceptFactorStep({ id: a.id, step: 1, now: T0 + 2, activate: false, alsoReset: [c.id] });
    expect((await store.getFactor("svc_test", c.id))?.failedAttempts).toBe(3);
  });
}
