import { and, asc, eq, inArray, lte, or } from "drizzle-orm";
import type { Channel, StatusUpdate } from "../../core/model.js";
import { resolveSettings } from "../../core/service-settings.js";
import {
  type DeliveryJob,
  type DeliveryResult,
  type DeliveryStore,
  deliveryJob,
  type NewDelivery,
  type SentDelivery,
} from "../../core/store/deliveries.js";
import { openNumber, sealedContext } from "../at-rest.js";
import { readRoute, readTransaction, toDelivery } from "../rows.js";
import { atomic } from "./atomic.js";
import type { SqliteStoreContext } from "./context.js";
import type { ClaimedRow, JobContextRow } from "./hot.js";
import { statusIs } from "./literal.js";
import { deliveries, verifications } from "./schema.js";

type DeliveryRow = typeof deliveries.$inferSelect;

/** The outbox's side of the SQLite store: claiming, recording results, receipts and fallbacks. */
export function createSqliteDeliveryStore({ raw, db, vault, hot, insertDelivery, closeTx }: SqliteStoreContext): DeliveryStore {
  const v = verifications;
  // Served by the partial index deliveries_due (status = 'queued').
  const countQueued = raw.prepare("select count(*) as n from deliveries where status = 'queued'");

  /** Claims one delivery row inside the caller's transaction; cancels it if its verification closed. */
  const claimOne = (id: string, now: number, leaseMs: number): DeliveryJob | null => {
    const claimed = hot.claimDelivery.get({ id, now, leaseUntil: now + leaseMs }) as ClaimedRow | undefined;
    if (!claimed) return null;
    const row = hot.jobContext.get(claimed.verificationId) as JobContextRow | undefined;
    const sendable = row?.status === "pending" && row.expiresAt > now && row.sealedCode !== null;
    if (!row?.sealedCode || !sendable) {
      hot.cancelDelivery.run(now, id);
      return null;
    }
    return deliveryJob({
      delivery: { ...claimed, channel: claimed.channel as Channel },
      verification: {
        id: row.id,
        serviceId: row.serviceId,
        to: openNumber(vault, row.toSealed, sealedContext.destination(row.id)) ?? "",
        route: readRoute(JSON.parse(row.route)),
        expiresAt: row.expiresAt,
        locale: row.locale,
        transaction: readTransaction(row),
      },
      service: { name: row.serviceName, settings: resolveSettings(JSON.parse(row.settings)) },
      sealedCode: row.sealedCode,
    });
  };

  /** The verification is pending, unexpired and its route is still at `step`. */
  const stillOnStep = (verificationId: string, step: number, now: number) => {
    const r = db
      .select({ status: v.status, expiresAt: v.expiresAt, currentStep: v.currentStep })
      .from(v)
      .where(eq(v.id, verificationId))
      .get();
    return !!r && r.status === "pending" && r.expiresAt > now && r.currentStep === step;
  };

  const sentDelivery = (d: DeliveryRow, now: number): SentDelivery | null => {
    const ver = db
      .select({ route: v.route, serviceId: v.serviceId, toSealed: v.toSealed })
      .from(v)
      .where(eq(v.id, d.verificationId))
      .get();
    if (!ver) return null;
    return {
      deliveryId: d.id,
      verificationId: d.verificationId,
      serviceId: ver.serviceId,
      // `to_number` holds the blind index: the event's masked number comes from the sealed copy.
      to: openNumber(vault, ver.toSealed, sealedContext.destination(d.verificationId)) ?? "",
      step: d.step,
      provider: d.provider,
      route: readRoute(ver.route),
      onCurrentStep: stillOnStep(d.verificationId, d.step, now),
    };
  };

  // Ranks make updates monotonic: a late "sent" never undoes "delivered", and a closed delivery
  // (failed, undelivered, canceled) stays closed: its route has already moved on.
  const rank: Record<string, number> = { queued: 0, sending: 0, accepted: 1, sent: 2, delivered: 3, read: 4 };

  /** Records a send's outcome; the row's route position when the update applied. */
  const recordOne = (r: DeliveryResult, now: number) =>
    hot.recordResult.get({
      id: r.deliveryId,
      status: r.status,
      providerMessageId: r.providerMessageId ?? null,
      errorCode: r.errorCode ?? null,
      errorMessage: r.errorMessage ?? null,
      nextTryAt: r.status === "queued" ? (r.nextTryAt ?? now) : null,
      fallbackAt: r.status === "accepted" ? (r.fallbackAt ?? null) : null,
      now,
    }) as { verificationId: string; step: number } | undefined;
  const recordFailure = raw.transaction((r: DeliveryResult, now: number) => {
    const row = recordOne(r, now);
    // Only the delivery the route is waiting on may move it on (an older step's late failure may not).
    if (!row || !stillOnStep(row.verificationId, row.step, now)) return;
    if (r.fallback) {
      insertDelivery(r.fallback, now);
      db.update(v).set({ currentStep: r.fallback.step, updatedAt: now }).where(eq(v.id, row.verificationId)).run();
    } else if (r.failVerification) {
      closeTx(row.verificationId, "failed", now);
    }
  });

  return {
    claimDelivery: atomic(raw, claimOne),
    claimDueDeliveries: atomic(raw, (now: number, leaseMs: number, limit: number) => {
      const due = db
        .select({ id: deliveries.id })
        .from(deliveries)
        .where(
          or(
            and(statusIs(deliveries.status, "queued"), lte(deliveries.nextTryAt, now)),
            and(statusIs(deliveries.status, "sending"), lte(deliveries.leaseUntil, now)),
          ),
        )
        .orderBy(asc(deliveries.nextTryAt))
        .limit(limit)
        .all();
      return due.map((d) => claimOne(d.id, now, leaseMs)).filter((j): j is DeliveryJob => j !== null);
    }),
    // A failure may move the route on (more writes: one transaction); any other result is the one
    // update, atomic by itself, so it skips the savepoint a transaction costs inside the group commit.
    async recordDeliveryResult(r, now) {
      if (r.status === "failed") recordFailure(r, now);
      else recordOne(r, now);
    },
    recordStatus: atomic(raw, (provider: string, u: StatusUpdate, now: number) => {
      const row = db
        .select()
        .from(deliveries)
        .where(and(eq(deliveries.provider, provider), eq(deliveries.providerMessageId, u.providerMessageId)))
        .get();
      if (!row) return null;
      const current = rank[row.status] ?? 0; // failed, undelivered, canceled rank lowest
      const positive = u.status === "sent" || u.status === "delivered" || u.status === "read";
      const closed = row.status === "failed" || row.status === "undelivered" || row.status === "canceled";
      const apply = !closed && (positive ? (rank[u.status] ?? 0) > current : current < 3);
      if (apply) {
        const settled = u.status !== "sent";
        db.update(deliveries)
          .set({
            status: u.status,
            updatedAt: now,
            ...(u.errorCode ? { errorCode: u.errorCode, errorMessage: u.errorMessage ?? null } : {}),
            ...(settled ? { fallbackAt: null } : {}),
          })
          .where(eq(deliveries.id, row.id))
          .run();
      }
      const sent = sentDelivery({ ...row, status: apply ? u.status : row.status }, now);
      const firstDelivered = apply && current < 3 && (u.status === "delivered" || u.status === "read");
      return sent && firstDelivered ? { ...sent, deliveredAfterMs: now - row.createdAt } : sent;
    }),
    claimOverdueFallbacks: atomic(raw, (now: number, limit: number) => {
      const due = db
        .select()
        .from(deliveries)
        .where(and(lte(deliveries.fallbackAt, now), inArray(deliveries.status, ["accepted", "sent"])))
        .limit(limit)
        .all();
      const claimed: SentDelivery[] = [];
      for (const d of due) {
        db.update(deliveries).set({ fallbackAt: null, updatedAt: now }).where(eq(deliveries.id, d.id)).run();
        const sent = sentDelivery(d, now);
        if (sent) claimed.push(sent);
      }
      return claimed;
    }),
    advanceRoute: atomic(raw, (input: { fromDeliveryId: string; next: NewDelivery; reason: string; now: number }) => {
      const from = db.select().from(deliveries).where(eq(deliveries.id, input.fromDeliveryId)).get();
      if (!from || !stillOnStep(from.verificationId, from.step, input.now)) return false;
      db.update(deliveries)
        .set({ errorCode: from.errorCode ?? input.reason, fallbackAt: null, updatedAt: input.now })
        .where(eq(deliveries.id, from.id))
        .run();
      insertDelivery(input.next, input.now);
      db.update(v).set({ currentStep: input.next.step, updatedAt: input.now }).where(eq(v.id, from.verificationId)).run();
      return true;
    }),
    async listDeliveries(verificationId) {
      return db
        .select()
        .from(deliveries)
        .where(eq(deliveries.verificationId, verificationId))
        .orderBy(asc(deliveries.createdAt))
        .all()
        .map(toDelivery);
    },

    async countQueuedDeliveries() {
      return (countQueued.get() as { n: number }).n;
    },
  };
}
