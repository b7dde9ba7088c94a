import { beforeEach, describe, expect, it } from "vitest";
import type { Verification } from "../../src/core/model.js";
import type { ConversionStore } from "../../src/core/store/conversion.js";
import type { NewDelivery } from "../../src/core/store/deliveries.js";
import type { Store } from "../../src/core/store/index.js";
import { seedAnalytics } from "../helpers/analytics-seed.js";
import { describeConversionContract } from "./conversion-contract.js";
import { describeCostContract } from "./costs-contract.js";
import { describeFactorContract } from "./factors-contract.js";
import { sampleVerification } from "./fixtures.js";
import { describeOptOutContract } from "./opt-outs-contract.js";
import { describeRetentionContract } from "./retention-contract.js";

/**
 * The Store contract: every implementation (SQLite, PostgreSQL) must pass it.
 * `makeStore` returns a fresh, migrated, empty store with the conversion store of the same
 * database, as the backend assembles them; `skip` when its server is not available.
 */
export function describeStoreContract(
  name: string,
  makeStore: () => Promise<{ store: Store; conversion: ConversionStore; cleanup(): Promise<void> }>,
  options: { skip?: boolean } = {},
) {
  describe.skipIf(options.skip ?? false)(`Store contract: ${name}`, () => {
    let store: Store;
    let conversion: ConversionStore;
    let cleanup: () => Promise<void>;
    const T0 = 1_800_000_000_000;
    let seq = 0;
    const secrets = (tag = "a") => ({ codeHash: Buffer.from(`hash-${tag}`), sealedCode: Buffer.from(`sealed-${tag}`) });
    const verification = (over: Partial<Verification> = {}) => sampleVerification(`ver_${++seq}`, T0, over);
    const delivery = (v: Verification, step = 0, at = T0): NewDelivery => ({
      id: `dlv_${++seq}`,
      verificationId: v.id,
      step,
      channel: v.route[step]!.channel,
      provider: v.route[step]!.providers[0]!,
      nextTryAt: at,
    });
    const create = async (over: Partial<Verification> = {}) => {
      const v = verification(over);
      const d = delivery(v);
      expect(await store.createVerification(v, secrets(v.id), d)).toBe(true);
      return { v, d };
    };

    beforeEach(async () => {
      ({ store, conversion, cleanup } = await makeStore());
      await store.ensureService({ id: "svc_test", name: "Test", route: [{ channel: "sms", providers: ["p2"] }] }, T0);
      return async () => cleanup();
    });

    describeFactorContract(() => store, T0);
    describeOptOutContract(() => store, T0);
    describeRetentionContract(() => store, T0);
    describeConversionContract(() => conversion, T0);
    describeCostContract(() => store, T0);

    it("keeps one live verification per destination", async () => {
      const { v } = await create();
      const twin = verification();
      expect(await store.createVerification(twin, secrets(), delivery(twin))).toBe(false);
      // The start that lost wrote nothing: no verification, and no delivery that could be sent.
      expect(await store.getVerification("svc_test", twin.id)).toBeNull();
      expect(await store.listDeliveries(twin.id)).toEqual([]);
      expect((await store.findPendingByDestination("svc_test", v.to, T0))?.id).toBe(v.id);
      expect(await store.findPendingByDestination("svc_test", v.to, v.expiresAt)).toBeNull();
    });

    it("runs a unit's operations on the store and the conversion store in order, settling with its work", async () => {
      const key = { scope: "prefix" as const, key: "+1415555" };
      const v = verification();
      const id = await store.unit(async (unit) => {
        const s = unit.join(store);
        const c = unit.join(conversion);
        expect(await s.findPendingByDestination("svc_test", v.to, T0)).toBeNull();
        const [counted] = await c.countSend([key], T0, T0 - 3_600_000, T0);
        expect(counted?.unsettled.sends).toBe(1);
        expect(await s.createVerification(v, secrets(v.id), delivery(v))).toBe(true);
        // Later operations of the unit see what earlier ones wrote.
        expect((await s.findPendingByDestination("svc_test", v.to, T0))?.id).toBe(v.id);
        return v.id;
      });
      expect((await store.getVerification("svc_test", id))?.status).toBe("pending");
      const [after] = await conversion.countSend([key], T0 - 100 * 3_600_000, T0 - 3_600_000, T0);
      expect(after?.unsettled.sends).toBe(1);
    });

    it("keeps what a unit wrote before it was refused, and rejects with the refusal", async () => {
      const v = verification();
      const refused = store.unit(async (unit) => {
        expect(await unit.join(store).createVerification(v, secrets(v.id), delivery(v))).toBe(true);
        throw new Error("refused after the write");
      });
      await expect(refused).rejects.toThrow("refused after the write");
      expect((await store.getVerification("svc_test", v.id))?.status).toBe("pending");
    });

    it("hands a unit back what it does not batch as it is", async () => {
      const elsewhere = { read: async () => 1 };
      await store.unit(async (unit) => {
        expect(unit.join(elsewhere)).toBe(elsewhere);
      });
    });

    it("expires a stale pending verification when a new one starts", async () => {
      const { v: old } = await create();
      const later = T0 + 700_000;
      const { v: fresh } = await create({ createdAt: later, updatedAt: later, expiresAt: later + 600_000, lastSentAt: later });
      expect((await store.getVerification("svc_test", old.id))?.status).toBe("expired");
      expect((await store.findLatestByDestination("svc_test", old.to))?.id).toBe(fresh.id);
    });

    it("scopes reads to the service", async () => {
      const { v } = await create();
      expect(await store.getVerification("svc_other", v.id)).toBeNull();
      expect((await store.recordCheck("svc_other", v.id, T0)).kind).toBe("refused");
    });

    it("counts checks only while pending, unexpired and under the limit", async () => {
      const { v } = await create();
      for (const n of [1, 2, 3]) {
        const a = await store.recordCheck("svc_test", v.id, T0);
        expect(a.kind).toBe("counted");
        if (a.kind === "counted") {
          expect(a.verification.checks).toBe(n);
          expect(a.codeHash.toString()).toBe(`hash-${v.id}`);
        }
      }
      expect((await store.recordCheck("svc_test", v.id, T0)).kind).toBe("refused");
      const { v: other } = await create({ to: "+14155550101" });
      expect((await store.recordCheck("svc_test", other.id, other.expiresAt)).kind).toBe("refused");
    });

    it("approves once and wipes the code", async () => {
      const { v, d } = await create();
      expect(await store.approve(v.id, T0 + 1)).toBe(true);
      expect(await store.approve(v.id, T0 + 2)).toBe(false);
      const after = await store.getVerification("svc_test", v.id);
      expect(after).toMatchObject({ status: "approved", approvedAt: T0 + 1 });
      expect((await store.recordCheck("svc_test", v.id, T0 + 3)).kind).toBe("refused");
      // The queued first delivery can no longer be sent.
      expect(await store.claimDelivery(d.id, T0 + 3, 30_000)).toBeNull();
      expect((await store.listDeliveries(v.id))[0]?.status).toBe("canceled");
    });

    it("closes only pending verifications", async () => {
      const { v } = await create();
      expect(await store.closeVerification(v.id, "canceled", T0)).toBe(true);
      expect(await store.closeVerification(v.id, "expired", T0)).toBe(false);
      expect(await store.approve(v.id, T0)).toBe(false);
      expect((await store.getVerification("svc_test", v.id))?.status).toBe("canceled");
    });

    it("resends under cooldown and max sends, and rotates secrets when asked", async () => {
      const { v } = await create();
      const resend = (now: number, extra = {}) =>
        store.recordResend({ id: v.id, now, cooldownMs: 30_000, delivery: delivery(v, 0, now), ...extra });
      expect(await resend(T0 + 10_000)).toMatchObject({ kind: "refused", reason: "cooldown" });
      const r1 = await resend(T0 + 30_000, { secrets: secrets("rotated"), expiresAt: T0 + 630_000 });
      expect(r1).toMatchObject({ kind: "resent", verification: { sends: 2, expiresAt: T0 + 630_000, lastSentAt: T0 + 30_000 } });
      const counted = await store.recordCheck("svc_test", v.id, T0 + 31_000);
      expect(counted.kind === "counted" && counted.codeHash.toString()).toBe("hash-rotated");
      expect((await resend(T0 + 60_000)).kind).toBe("resent");
      expect(await resend(T0 + 90_000)).toMatchObject({ kind: "refused", reason: "max_sends" });
      await store.closeVerification(v.id, "canceled", T0 + 91_000);
      expect(await resend(T0 + 120_000)).toMatchObject({ kind: "refused", reason: "not_pending" });
    });

    it("lets one claimer send a delivery, and another after the lease expires (crash recovery)", async () => {
      const { v, d } = await create();
      const job = await store.claimDelivery(d.id, T0, 30_000);
      expect(job).toMatchObject({
        id: d.id,
        verificationId: v.id,
        to: v.to,
        channel: "whatsapp",
        provider: "p1",
        tries: 1,
        serviceName: "Test",
      });
      expect(job?.sealedCode.toString()).toBe(`sealed-${v.id}`);
      expect(await store.claimDelivery(d.id, T0 + 1_000, 30_000)).toBeNull();
      expect(await store.claimDueDeliveries(T0 + 1_000, 30_000, 10)).toHaveLength(0);
      const reclaimed = await store.claimDueDeliveries(T0 + 30_000, 30_000, 10);
      expect(reclaimed.map((j) => [j.id, j.tries])).toEqual([[d.id, 2]]);
    });

    it("records retries, fallbacks and final failure", async () => {
      const { v, d } = await create();
      await store.claimDelivery(d.id, T0, 30_000);
      await store.recordDeliveryResult({ deliveryId: d.id, status: "queued", nextTryAt: T0 + 5_000, errorCode: "http_503" }, T0);
      expect(await store.claimDueDeliveries(T0 + 4_999, 30_000, 10)).toHaveLength(0);
      const [again] = await store.claimDueDeliveries(T0 + 5_000, 30_000, 10);
      expect(again?.id).toBe(d.id);

      const fallback = delivery(v, 1, T0 + 5_000);
      await store.recordDeliveryResult(
        { deliveryId: d.id, status: "failed", errorCode: "not_on_whatsapp", fallback },
        T0 + 5_000,
      );
      expect((await store.getVerification("svc_test", v.id))?.currentStep).toBe(1);
      const next = await store.claimDelivery(fallback.id, T0 + 5_000, 30_000);
      expect(next).toMatchObject({ step: 1, channel: "sms", provider: "p2" });

      await store.recordDeliveryResult(
        { deliveryId: fallback.id, status: "failed", errorCode: "rejected", failVerification: true },
        T0 + 6_000,
      );
      expect((await store.getVerification("svc_test", v.id))?.status).toBe("failed");
      expect((await store.listDeliveries(v.id)).map((x) => [x.step, x.status, x.errorCode])).toEqual([
        [0, "failed", "not_on_whatsapp"],
        [1, "failed", "rejected"],
      ]);
    });

    it("records an accepted delivery with its provider message id", async () => {
      const { v, d } = await create();
      await store.claimDelivery(d.id, T0, 30_000);
      await store.recordDeliveryResult({ deliveryId: d.id, status: "accepted", providerMessageId: "SM123" }, T0);
      expect(await store.listDeliveries(v.id)).toMatchObject([{ status: "accepted", providerMessageId: "SM123", tries: 1 }]);
      expect(await store.claimDueDeliveries(T0 + 3_600_000, 30_000, 10)).toHaveLength(0);
    });

    it("counts queued deliveries only", async () => {
      expect(await store.countQueuedDeliveries()).toBe(0);
      const { d } = await create();
      await create({ to: "+14155550101" });
      expect(await store.countQueuedDeliveries()).toBe(2);
      await store.claimDelivery(d.id, T0, 30_000);
      expect(await store.countQueuedDeliveries()).toBe(1);
      await store.recordDeliveryResult({ deliveryId: d.id, status: "queued", nextTryAt: T0 + 5_000, errorCode: "http_503" }, T0);
      expect(await store.countQueuedDeliveries()).toBe(2);
    });

    it("applies provider statuses monotonically and finds the delivery by message id", async () => {
      const { v, d } = await create();
      await store.claimDelivery(d.id, T0, 30_000);
      await store.recordDeliveryResult(
        { deliveryId: d.id, status: "accepted", providerMessageId: "m-1", fallbackAt: T0 + 30_000 },
        T0,
      );
      expect(await store.recordStatus("p1", { providerMessageId: "unknown", status: "delivered" }, T0)).toBeNull();
      expect(await store.recordStatus("p2", { providerMessageId: "m-1", status: "delivered" }, T0)).toBeNull(); // other provider
      const sent = await store.recordStatus("p1", { providerMessageId: "m-1", status: "delivered" }, T0 + 1);
      expect(sent).toMatchObject({ deliveryId: d.id, verificationId: v.id, step: 0, provider: "p1", onCurrentStep: true });
      // The destination in clear (for the event's masked number), not the stored blind index.
      expect(sent).toMatchObject({ serviceId: v.serviceId, to: v.to, deliveredAfterMs: 1 });
      await store.recordStatus("p1", { providerMessageId: "m-1", status: "sent" }, T0 + 2);
      await store.recordStatus("p1", { providerMessageId: "m-1", status: "failed", errorCode: "30005" }, T0 + 3);
      expect(await store.listDeliveries(v.id)).toMatchObject([{ status: "delivered", errorCode: null }]);
      // Delivered clears the fallback timer.
      expect(await store.claimOverdueFallbacks(T0 + 60_000, 10)).toHaveLength(0);
      await store.recordStatus("p1", { providerMessageId: "m-1", status: "read" }, T0 + 4);
      expect((await store.listDeliveries(v.id))[0]?.status).toBe("read");
    });

    it("records a failed receipt with its error", async () => {
      const { v, d } = await create();
      await store.claimDelivery(d.id, T0, 30_000);
      await store.recordDeliveryResult({ deliveryId: d.id, status: "accepted", providerMessageId: "m-2" }, T0);
      await store.recordStatus(
        "p1",
        { providerMessageId: "m-2", status: "undelivered", errorCode: "30005", errorMessage: "unknown handset" },
        T0,
      );
      expect(await store.listDeliveries(v.id)).toMatchObject([
        { status: "undelivered", errorCode: "30005", errorMessage: "unknown handset" },
      ]);
      // A closed delivery stays closed: a late "sent" or a repeated failure changes nothing.
      await store.recordStatus("p1", { providerMessageId: "m-2", status: "sent" }, T0 + 1);
      await store.recordStatus("p1", { providerMessageId: "m-2", status: "failed", errorCode: "1" }, T0 + 2);
      expect(await store.listDeliveries(v.id)).toMatchObject([{ status: "undelivered", errorCode: "30005" }]);
    });

    it("claims overdue fallbacks once, and advances the route only from the current step", async () => {
      const { v, d } = await create();
      await store.claimDelivery(d.id, T0, 30_000);
      await store.recordDeliveryResult(
        { deliveryId: d.id, status: "accepted", providerMessageId: "m-3", fallbackAt: T0 + 30_000 },
        T0,
      );
      expect(await store.claimOverdueFallbacks(T0 + 29_999, 10)).toHaveLength(0);
      const [overdue] = await store.claimOverdueFallbacks(T0 + 30_000, 10);
      expect(overdue).toMatchObject({ deliveryId: d.id, step: 0, onCurrentStep: true });
      expect(await store.claimOverdueFallbacks(T0 + 30_000, 10)).toHaveLength(0);
      const next = delivery(v, 1, T0 + 30_000);
      expect(await store.advanceRoute({ fromDeliveryId: d.id, next, reason: "no_delivery_receipt", now: T0 + 30_000 })).toBe(
        true,
      );
      expect((await store.getVerification("svc_test", v.id))?.currentStep).toBe(1);
      // A second advance from the old step (a late failed receipt, say) changes nothing.
      const again = delivery(v, 1, T0 + 31_000);
      expect(await store.advanceRoute({ fromDeliveryId: d.id, next: again, reason: "failed", now: T0 + 31_000 })).toBe(false);
      expect((await store.listDeliveries(v.id)).map((x) => [x.step, x.status, x.errorCode])).toEqual([
        [0, "accepted", "no_delivery_receipt"],
        [1, "queued", null],
      ]);
      await store.approve(v.id, T0 + 32_000);
      const late = await store.recordStatus("p1", { providerMessageId: "m-3", status: "failed" }, T0 + 33_000);
      expect(late?.onCurrentStep).toBe(false);
    });

    it("expires due pending verifications in bulk, answering their labels", async () => {
      await create();
      const { v: due } = await create({ to: "+14155550102", expiresAt: T0 + 1_000 });
      const expired = await store.expireDue(T0 + 1_000, 100);
      expect(expired.map((e) => [e.id, e.serviceId, e.to, e.status])).toEqual([[due.id, due.serviceId, due.to, "expired"]]);
      expect(await store.expireDue(T0 + 1_000, 100)).toEqual([]);
    });

    it("computes the analytics funnel and lists recent verifications", async () => {
      await store.ensureService({ id: "svc_other", name: "Other", route: [] }, T0);
      const day1 = Date.UTC(2027, 0, 10);
      await seedAnalytics(store, "svc_test", day1);
      const rows = await store.analytics({ from: day1, to: day1 + 2 * 86_400_000, groupBy: ["channel"], serviceId: "svc_test" });
      expect(rows).toEqual([
        {
          key: { channel: "sms" },
          requested: 7,
          sent: 6,
          delivered: 4,
          checked: 5,
          approved: 4,
          messagesSent: 8,
          medianApproveMs: 52_500,
        },
        {
          key: { channel: "whatsapp" },
          requested: 1,
          sent: 1,
          delivered: 1,
          checked: 1,
          approved: 1,
          messagesSent: 1,
          medianApproveMs: 20_000,
        },
      ]);
      const all = await store.analytics({ from: day1, to: day1 + 86_400_000, groupBy: ["day", "country"] });
      expect(all.map((r) => [r.key.day, r.key.country, r.requested, r.approved])).toEqual([
        ["2027-01-10", "GB", 1, 1],
        ["2027-01-10", "US", 4, 3],
      ]);
      const recent = await store.recentVerifications({ serviceId: "svc_test", limit: 2 });
      expect(recent.map((r) => [r.verification.id, r.deliveries.map((d) => d.status)])).toEqual([
        ["ver_seed_a8", ["accepted", "accepted"]],
        ["ver_seed_a7", ["failed"]],
      ]);
      expect((await store.recentVerifications({ limit: 100 })).length).toBe(10);
    });

    it("counts pending event webhooks", async () => {
      expect(await store.countPendingEvents()).toBe(0);
      await store.enqueueEvent({
        id: "evt_1",
        type: "verification.started",
        serviceId: "svc_test",
        payload: "{}",
        createdAt: T0,
      });
      await store.enqueueEvent({
        id: "evt_2",
        type: "verification.started",
        serviceId: "svc_test",
        payload: "{}",
        createdAt: T0,
      });
      await store.recordEventResults([{ id: "evt_1", status: "delivered", tries: 1 }], T0 + 1);
      expect(await store.countPendingEvents()).toBe(1);
    });

    it("enqueues events given at once, and a row it cannot store fails only its own enqueue", async () => {
      const event = (id: string) => ({
        id,
        type: "verification.started" as const,
        serviceId: "svc_test",
        payload: `{"n":"${id}"}`,
        createdAt: T0,
      });
      await store.enqueueEvent(event("evt_1"));
      const outcomes = await Promise.allSettled(["evt_2", "evt_1", "evt_3"].map((id) => store.enqueueEvent(event(id))));
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      const stored = await store.listEvents({ limit: 10 });
      expect(stored.map((e) => e.id).sort()).toEqual(["evt_1", "evt_2", "evt_3"]);
      expect(stored.find((e) => e.id === "evt_3")?.payload).toBe('{"n":"evt_3"}');
    });

    it("does not claim an event queued already leased until its lease runs out", async () => {
      const base = { type: "verification.started" as const, serviceId: "svc_test", payload: "{}", createdAt: T0 };
      await store.enqueueEvent({ ...base, id: "evt_leased", leaseUntil: T0 + 10_000 });
      await store.enqueueEvent({ ...base, id: "evt_due" });
      expect((await store.claimDueEvents(T0 + 9_999, 10, 1_000)).map((e) => e.id)).toEqual(["evt_due"]);
      expect(await store.countPendingEvents()).toBe(2);
      expect((await store.claimDueEvents(T0 + 10_000, 10, 1_000)).map((e) => e.id)).toEqual(["evt_leased"]);
    });

    it("reads a service's own event receiver, and sees it change", async () => {
      expect(await store.getServiceWebhook("svc_unknown")).toBeNull();
      expect(await store.getServiceWebhook("svc_test")).toEqual({ url: null, sealedSecret: null });
      const sealed = Buffer.from([1, 2, 3]);
      await store.updateServicePolicy(
        "svc_test",
        { policy: {}, webhook: { url: "https://hooks.example/a", sealedSecret: sealed } },
        T0 + 1,
      );
      expect(await store.getServiceWebhook("svc_test")).toEqual({ url: "https://hooks.example/a", sealedSecret: sealed });
      await store.updateServicePolicy("svc_test", { policy: {}, webhook: { url: null } }, T0 + 2);
      expect(await store.getServiceWebhook("svc_test")).toMatchObject({ url: null });
    });

    it("records a batch of event results together, each on its own row", async () => {
      for (const id of ["evt_a", "evt_b", "evt_c", "evt_d"]) {
        await store.enqueueEvent({ id, type: "verification.started", serviceId: "svc_test", payload: "{}", createdAt: T0 });
      }
      await store.recordEventResults(
        [{ id: "evt_d", status: "pending", tries: 1, nextTryAt: T0 + 9, lastError: "timeout" }],
        T0 + 1,
      );
      await store.recordEventResults([], T0 + 2);
      await store.recordEventResults(
        [
          { id: "evt_a", status: "delivered", tries: 1, lastError: null },
          { id: "evt_b", status: "pending", tries: 2, nextTryAt: T0 + 5_000, lastError: "http_500" },
          { id: "evt_c", status: "dead", tries: 11, lastError: "http_410" },
          // No lastError: the stored one stays; no nextTryAt: due at once.
          { id: "evt_d", status: "pending", tries: 2 },
        ],
        T0 + 3,
      );
      const byId = new Map((await store.listEvents({ limit: 10 })).map((e) => [e.id, e]));
      expect(byId.get("evt_a")).toMatchObject({
        status: "delivered",
        tries: 1,
        lastError: null,
        nextTryAt: null,
        updatedAt: T0 + 3,
      });
      expect(byId.get("evt_b")).toMatchObject({ status: "pending", tries: 2, lastError: "http_500", nextTryAt: T0 + 5_000 });
      expect(byId.get("evt_c")).toMatchObject({ status: "dead", tries: 11, lastError: "http_410", nextTryAt: null });
      expect(byId.get("evt_d")).toMatchObject({ status: "pending", tries: 2, lastError: "timeout", nextTryAt: T0 + 3 });
      expect((await store.claimDueEvents(T0 + 3, 10, 1_000)).map((e) => e.id)).toEqual(["evt_d"]);
    });

    it("requeues an event, of the given service only, as pending and due at once", async () => {
      for (const id of ["evt_dead", "evt_sent"]) {
        await store.enqueueEvent({
          id,
          type: "verification.started",
          serviceId: "svc_test",
          payload: `{"n":"${id}"}`,
          createdAt: T0,
        });
      }
      await store.recordEventResults(
        [
          { id: "evt_dead", status: "dead", tries: 11, lastError: "http_410" },
          { id: "evt_sent", status: "delivered", tries: 1, lastError: null },
        ],
        T0 + 1,
      );
      expect(await store.claimDueEvents(T0 + 100, 10, 1_000)).toEqual([]);
      expect(await store.requeueEvent("evt_dead", "svc_other", T0 + 50)).toBeNull();
      expect(await store.requeueEvent("evt_unknown", undefined, T0 + 50)).toBeNull();
      expect((await store.listEvents({ status: "dead", limit: 10 })).map((e) => e.id)).toEqual(["evt_dead"]);

      const requeued = await store.requeueEvent("evt_dead", "svc_test", T0 + 50);
      expect(requeued).toMatchObject({
        id: "evt_dead",
        serviceId: "svc_test",
        status: "pending",
        nextTryAt: T0 + 50,
        updatedAt: T0 + 50,
        tries: 11,
        lastError: "http_410",
        payload: '{"n":"evt_dead"}',
      });
      expect(await store.requeueEvent("evt_sent", undefined, T0 + 60)).toMatchObject({ status: "pending", nextTryAt: T0 + 60 });
      expect(await store.countPendingEvents()).toBe(2);
      const due = await store.claimDueEvents(T0 + 100, 10, 1_000);
      expect(due.map((e) => [e.id, e.tries, e.payload])).toEqual([
        ["evt_dead", 11, '{"n":"evt_dead"}'],
        ["evt_sent", 1, '{"n":"evt_sent"}'],
      ]);
    });

    it("reports how long a delivery took to be confirmed, once", async () => {
      const { d } = await create();
      await store.claimDelivery(d.id, T0, 30_000);
      await store.recordDeliveryResult({ deliveryId: d.id, status: "accepted", providerMessageId: "m-ttd" }, T0 + 1_000);
      const first = await store.recordStatus("p1", { providerMessageId: "m-ttd", status: "delivered" }, T0 + 7_000);
      expect(first?.deliveredAfterMs).toBe(7_000);
      const again = await store.recordStatus("p1", { providerMessageId: "m-ttd", status: "delivered" }, T0 + 9_000);
      expect(again?.deliveredAfterMs).toBeUndefined();
    });

    it("remembers idempotency keys per service", async () => {
      expect(await store.beginIdempotent("svc_test", "k1", "fp1", T0)).toEqual({ kind: "new" });
      expect(await store.beginIdempotent("svc_test", "k1", "fp1", T0)).toEqual({ kind: "in_flight" });
      expect(await store.beginIdempotent("svc_test", "k1", "fp2", T0)).toEqual({ kind: "mismatch" });
      expect(await store.beginIdempotent("svc_other", "k1", "fp2", T0)).toEqual({ kind: "new" });
      await store.finishIdempotent("svc_test", "k1", 201, '{"id":"ver_1"}');
      expect(await store.beginIdempotent("svc_test", "k1", "fp1", T0 + 1)).toEqual({
        kind: "replay",
        status: 201,
        body: '{"id":"ver_1"}',
      });
      expect(await store.beginIdempotent("svc_test", "k1", "fp1", T0 + 86_400_001)).toEqual({ kind: "new" });
      await store.abandonIdempotent("svc_test", "k1");
      expect(await store.beginIdempotent("svc_test", "k1", "fp9", T0 + 86_400_002)).toEqual({ kind: "new" });
    });

    it("stores services and API keys", async () => {
      expect(await store.getService("svc_test")).toMatchObject({
        name: "Test",
        policy: {},
        route: [{ channel: "sms", providers: ["p2"] }],
      });
      await store.ensureService({ id: "svc_test", name: "Renamed", route: [] }, T0 + 1);
      expect((await store.getService("svc_test"))?.name).toBe("Renamed");
      expect(await store.countActiveAdminKeys()).toBe(0);
      const hash = Buffer.alloc(32, 7);
      await store.insertApiKey({
        id: "key_1",
        serviceId: null,
        prefix: "vfd_abc",
        secretHash: hash,
        label: "admin",
        createdAt: T0,
        revokedAt: null,
      });
      expect(await store.findApiKeyByHash(hash)).toMatchObject({ id: "key_1", serviceId: null, prefix: "vfd_abc" });
      expect(await store.findApiKeyByHash(Buffer.alloc(32, 8))).toBeNull();
      expect(await store.countActiveAdminKeys()).toBe(1);
    });

    it("revokes an API key once, and tells an unknown key apart", async () => {
      const key = (id: string, serviceId: string | null, fill: number) => ({
        id,
        serviceId,
        prefix: `vfd_${id}`,
        secretHash: Buffer.alloc(32, fill),
        label: id,
        createdAt: T0,
        revokedAt: null,
      });
      await store.insertApiKey(key("key_admin", null, 1));
      await store.insertApiKey(key("key_other_admin", null, 2));
      await store.insertApiKey(key("key_svc", "svc_test", 3));
      expect(await store.countActiveAdminKeys()).toBe(2);

      expect(await store.revokeApiKey("key_unknown", T0 + 1)).toBe(false);
      expect(await store.revokeApiKey("key_admin", T0 + 2)).toBe(true);
      expect(await store.findApiKeyByHash(Buffer.alloc(32, 1))).toMatchObject({ id: "key_admin", revokedAt: T0 + 2 });
      expect(await store.countActiveAdminKeys()).toBe(1);
      // Already revoked: still true, and the first revocation time stays.
      expect(await store.revokeApiKey("key_admin", T0 + 3)).toBe(true);
      expect(await store.revokeApiKey("key_svc", T0 + 4)).toBe(true);
      expect((await store.listApiKeys()).map((k) => [k.id, k.revokedAt])).toEqual([
        ["key_admin", T0 + 2],
        ["key_other_admin", null],
        ["key_svc", T0 + 4],
      ]);
      expect(await store.findApiKeyByHash(Buffer.alloc(32, 2))).toMatchObject({ id: "key_other_admin", revokedAt: null });
    });
  });
}
