import { expect, it } from "vitest";
import type { Verification } from "../../src/core/model.js";
import type { NewDelivery } from "../../src/core/store/deliveries.js";
import type { Store } from "../../src/core/store/index.js";
import { sampleVerification } from "./fixtures.js";

/**
 * The retention part of the Store contract (purge and erasure), run inside `describeStoreContract`
 * on a fresh store that has the service `svc_test`.
 */
export function describeRetentionContract(getStore: () => Store, T0: number) {
  const A = "+14155550120";
  const B = "+14155550121";
  const DAY = 86_400_000;
  let seq = 0;
  const verification = (over: Partial<Verification> = {}) =>
    sampleVerification(`ver_r${++seq}`, T0, { to: A, route: [{ channel: "sms", providers: ["p2"] }], ...over });
  const delivery = (v: Verification): NewDelivery => ({
    id: `dlv_r${++seq}`,
    verificationId: v.id,
    step: 0,
    channel: "sms",
    provider: "p2",
    nextTryAt: v.createdAt,
  });
  /** A verification created at `at` with one delivery, closed at once unless `pending`. */
  const create = async (to: string, at: number, pending = false) => {
    const store = getStore();
    const v = verification({ to, createdAt: at, updatedAt: at, expiresAt: at + 600_000, lastSentAt: at });
    const secrets = { codeHash: Buffer.from(`h-${v.id}`), sealedCode: Buffer.from(`s-${v.id}`) };
    expect(await store.createVerification(v, secrets, delivery(v))).toBe(true);
    if (!pending) expect(await store.closeVerification(v.id, "canceled", at + 1)).toBe(true);
    return v;
  };
  /** An idempotency key whose stored answer names `verificationId`. */
  const remember = async (key: string, verificationId: string, at: number) => {
    const store = getStore();
    expect(await store.beginIdempotent("svc_test", key, `fp-${key}`, at)).toEqual({ kind: "new" });
    await store.finishIdempotent("svc_test", key, 201, JSON.stringify({ id: verificationId, status: "pending" }));
  };
  const replays = async (key: string, at: number) =>
    (await getStore().beginIdempotent("svc_test", key, `fp-${key}`, at)).kind === "replay";

  it("purges closed verifications created before the cutoff, with their deliveries, and day-old idempotency keys", async () => {
    const store = getStore();
    const old = await create(A, T0);
    const recent = await create(A, T0 + 2 * DAY);
    const pending = await create(B, T0, true);
    await remember("old", old.id, T0);
    await remember("fresh", recent.id, T0 + 2 * DAY);

    const now = T0 + 31 * DAY;
    // The cutoff is exclusive: a verification created exactly at it stays; keys live 24 hours.
    const counts = await store.purgeBefore(T0 + 2 * DAY, T0 + 3 * DAY - 1);
    expect(counts).toEqual({ verifications: 1, deliveries: 1, idempotencyKeys: 1 });
    expect(await store.getVerification("svc_test", old.id)).toBeNull();
    expect(await store.listDeliveries(old.id)).toEqual([]);
    expect((await store.getVerification("svc_test", recent.id))?.status).toBe("canceled");
    expect(await store.listDeliveries(recent.id)).toHaveLength(1);
    // A pending verification is never purged, however old.
    expect((await store.getVerification("svc_test", pending.id))?.status).toBe("pending");
    expect(await store.listDeliveries(pending.id)).toHaveLength(1);
    expect(await replays("fresh", T0 + 3 * DAY - 2)).toBe(true);
    // Nothing left to purge at the same cutoff.
    expect(await store.purgeBefore(T0 + 2 * DAY, T0 + 3 * DAY - 1)).toEqual({
      verifications: 0,
      deliveries: 0,
      idempotencyKeys: 0,
    });
    expect((await store.purgeBefore(now, now)).verifications).toBe(1);
  });

  it("erases every verification, delivery and idempotency key of a number, and its opt-outs only when asked", async () => {
    const store = getStore();
    const closed = await create(A, T0);
    const live = await create(A, T0 + 1000, true);
    const other = await create(B, T0);
    await remember("a1", closed.id, T0);
    await remember("a2", live.id, T0 + 1000);
    await remember("b1", other.id, T0);
    await store.addOptOut({ phone: A, channel: "sms", source: "api", keyword: null, createdAt: T0 });
    await store.addOptOut({ phone: B, channel: "sms", source: "api", keyword: null, createdAt: T0 });

    expect(await store.eraseNumber(A, { includeOptOuts: false })).toEqual({
      verifications: 2,
      deliveries: 2,
      idempotencyKeys: 2,
      rateLimits: 0,
      optOuts: 0,
    });
    expect(await store.getVerification("svc_test", closed.id)).toBeNull();
    expect(await store.getVerification("svc_test", live.id)).toBeNull();
    expect(await store.findLatestByDestination("svc_test", A)).toBeNull();
    expect(await store.listDeliveries(closed.id)).toEqual([]);
    expect(await store.listDeliveries(live.id)).toEqual([]);
    expect(await store.isOptedOut(A, "sms")).toBe(true);
    // The other number keeps everything.
    expect((await store.getVerification("svc_test", other.id))?.to).toBe(B);
    expect(await store.listDeliveries(other.id)).toHaveLength(1);
    expect(await replays("b1", T0 + 1)).toBe(true);
    expect(await replays("a1", T0 + 1)).toBe(false); // began anew: the old row is gone

    expect(await store.eraseNumber(A, { includeOptOuts: true })).toEqual({
      verifications: 0,
      deliveries: 0,
      idempotencyKeys: 0,
      rateLimits: 0,
      optOuts: 1,
    });
    expect(await store.isOptedOut(A, "sms")).toBe(false);
    expect(await store.isOptedOut(B, "sms")).toBe(true);
  });

  it("erases an inbound verification approved from the number", async () => {
    const store = getStore();
    const hash = Buffer.from("inbound-hash-retention");
    const v = verification({ to: "", inboundChannels: ["sms"] });
    expect(await store.createInboundVerification(v, hash)).toBe(true);
    expect((await store.approveInbound(hash, A, T0 + 1)).kind).toBe("approved");
    expect((await store.eraseNumber(B, { includeOptOuts: true })).verifications).toBe(0);
    expect((await store.eraseNumber(A, { includeOptOuts: false })).verifications).toBe(1);
    expect(await store.getVerification("svc_test", v.id)).toBeNull();
  });
}
