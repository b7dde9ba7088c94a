import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Channel } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import { resolveSettings } from "../../core/service-settings.js";
import { type DeliveryJob, type DeliveryStore, deliveryJob, type SentDelivery } from "../../core/store/deliveries.js";
import { openNumber, sealedContext } from "../at-rest.js";
import { readRoute, readTransaction, toDelivery } from "../rows.js";
import { namedRows, type OpenedPg, type PgExec, rows } from "./open.js";
import { deliveries, verifications } from "./schema.js";
import { closeVerification, insertDelivery } from "./writes.js";

/** A claimed delivery joined with its verification and service (see `claimed` below). */
interface ClaimedRow {
  id: string;
  verification_id: string;
  step: number;
  channel: string;
  provider: string;
  tries: number;
  service_id: string;
  to_sealed: Buffer | null;
  verification_status: string;
  route: unknown;
  sealed_code: Buffer | null;
  /** bigint, as text. */
  expires_at: string;
  locale: string | null;
  service_name: string;
  amount: string | null;
  payee: string | null;
  settings: Record<string, unknown>;
}

type DeliveryRow = typeof deliveries.$inferSelect;

/**
 * The outbox's side of the PostgreSQL store. Claims lease rows with `FOR UPDATE SKIP LOCKED`, so a
 * due delivery goes to exactly one instance; a lease that runs out (its instance died mid-send)
 * makes the row claimable again.
 */
export function createPgDeliveryStore({ db, pool }: OpenedPg, vault: NumberVault): DeliveryStore {
  const v = verifications;

  /** Leases the rows `which` selects (it must lock them) and joins what sending needs; cancels the unsendable. */
  const claim = async (which: ReturnType<typeof sql>, now: number, leaseMs: number): Promise<DeliveryJob[]> => {
    const leaseUntil = now + leaseMs;
    const claimed = await rows<ClaimedRow>(
      db,
      sql`with claimed as (
          update deliveries set status = 'sending', lease_until = ${leaseUntil}, tries = tries + 1, updated_at = ${now}
          where id in (${which})
            and ((status = 'queued' and next_try_at <= ${now}) or (status = 'sending' and lease_until <= ${now}))
          returning id, verification_id, step, channel, provider, tries, next_try_at)
        select c.id, c.verification_id, c.step, c.channel, c.provider, c.tries, v.service_id, v.to_sealed,
          v.status as verification_status, v.route, v.sealed_code, v.expires_at, v.locale, s.name as service_name,
          v.amount, v.payee, s.settings
        from claimed c join verifications v on v.id = c.verification_id join services s on s.id = v.service_id
        order by c.next_try_at`,
    );
    const jobs: DeliveryJob[] = [];
    const unsendable: string[] = [];
    for (const r of claimed) {
      const expiresAt = Number(r.expires_at);
      if (r.verification_status !== "pending" || expiresAt <= now || !r.sealed_code) {
        unsendable.push(r.id);
        continue;
      }
      jobs.push(
        deliveryJob({
          delivery: { id: r.id, step: r.step, channel: r.channel as Channel, provider: r.provider, tries: r.tries },
          verification: {
            id: r.verification_id,
            serviceId: r.service_id,
            to: openNumber(vault, r.to_sealed, sealedContext.destination(r.verification_id)) ?? "",
            route: readRoute(r.route),
            expiresAt,
            locale: r.locale,
            transaction: readTransaction(r),
          },
          service: { name: r.service_name, settings: resolveSettings(r.settings) },
          sealedCode: r.sealed_code,
        }),
      );
    }
    if (unsendable.length) {
      // Still under our lease: nobody else can have touched them.
      await db
        .update(deliveries)
        .set({ status: "canceled", leaseUntil: null, updatedAt: now })
        .where(and(inArray(deliveries.id, unsendable), eq(deliveries.status, "sending"), eq(deliveries.leaseUntil, leaseUntil)));
    }
    return jobs;
  };

  /** Locks the verification row and tells whether it is pending, unexpired and at `step`. */
  const lockOnStep = async (exec: PgExec, verificationId: string, step: number, now: number) => {
    const [r] = await exec
      .select({ status: v.status, expiresAt: v.expiresAt, currentStep: v.currentStep })
      .from(v)
      .where(eq(v.id, verificationId))
      .for("update");
    return !!r && r.status === "pending" && r.expiresAt > now && r.currentStep === step;
  };

  const sentDelivery = async (exec: PgExec, d: DeliveryRow, now: number): Promise<SentDelivery | null> => {
    const [ver] = await exec
      .select({
        route: v.route,
        status: v.status,
        expiresAt: v.expiresAt,
        currentStep: v.currentStep,
        serviceId: v.serviceId,
        toSealed: v.toSealed,
      })
      .from(v)
      .where(eq(v.id, d.verificationId));
    if (!ver) return null;
    return {
      deliveryId: d.id,
      verificationId: d.verificationId,
      serviceId: ver.serviceId,
      to: openNumber(vault, ver.toSealed, sealedContext.destination(d.verificationId)) ?? "",
      step: d.step,
      provider: d.provider,
      route: readRoute(ver.route),
      onCurrentStep: ver.status === "pending" && ver.expiresAt > now && ver.currentStep === d.step,
    };
  };

  return {
    async claimDelivery(id, now, leaseMs) {
      const [job] = await claim(sql`select ${id}::text`, now, leaseMs);
      return job ?? null;
    },
    async claimDueDeliveries(now, leaseMs, limit) {
      return claim(
        sql`select id from deliveries
          where (status = 'queued' and next_try_at <= ${now}) or (status = 'sending' and lease_until <= ${now})
          order by next_try_at limit ${limit} for update skip locked`,
        now,
        leaseMs,
      );
    },
    async recordDeliveryResult(r, now) {
      const record = (exec: PgExec) =>
        exec
          .update(deliveries)
          .set({
            status: r.status,
            providerMessageId: r.providerMessageId ?? null,
            errorCode: r.errorCode ?? null,
            errorMessage: r.errorMessage ?? null,
            nextTryAt: r.status === "queued" ? (r.nextTryAt ?? now) : null,
            leaseUntil: null,
            fallbackAt: r.status === "accepted" ? (r.fallbackAt ?? null) : null,
            updatedAt: now,
          })
          .where(and(eq(deliveries.id, r.deliveryId), eq(deliveries.status, "sending")))
          .returning({ verificationId: deliveries.verificationId, step: deliveries.step });
      // Only a failure may move the route on or close the verification; any other result is that one
      // statement, without a transaction around it.
      if (r.status !== "failed") {
        await namedRows(pool, record(db).getSQL());
        return;
      }
      await db.transaction(async (tx) => {
        const [row] = await record(tx);
        // Only the delivery the route is waiting on may move it on (an older step's late failure may not).
        if (!row || !(await lockOnStep(tx, row.verificationId, row.step, now))) return;
        if (r.fallback) {
          await insertDelivery(tx, r.fallback, now);
          await tx.update(v).set({ currentStep: r.fallback.step, updatedAt: now }).where(eq(v.id, row.verificationId));
        } else if (r.failVerification) {
          await closeVerification(tx, row.verificationId, "failed", now);
        }
      });
    },
    async recordStatus(provider, u, now) {
      // Ranks make updates monotonic: a late "sent" never undoes "delivered", and a closed delivery
      // (failed, undelivered, canceled) stays closed: its route has already moved on.
      const rank: Record<string, number> = { queued: 0, sending: 0, accepted: 1, sent: 2, delivered: 3, read: 4 };
      return db.transaction(async (tx) => {
        const [row] = await tx
          .select()
          .from(deliveries)
          .where(and(eq(deliveries.provider, provider), eq(deliveries.providerMessageId, u.providerMessageId)))
          .limit(1)
          .for("update");
        if (!row) return null;
        const current = rank[row.status] ?? 0; // failed, undelivered, canceled rank lowest
        const positive = u.status === "sent" || u.status === "delivered" || u.status === "read";
        const closed = row.status === "failed" || row.status === "undelivered" || row.status === "canceled";
        const apply = !closed && (positive ? (rank[u.status] ?? 0) > current : current < 3);
        if (apply) {
          await tx
            .update(deliveries)
            .set({
              status: u.status,
              updatedAt: now,
              ...(u.errorCode ? { errorCode: u.errorCode, errorMessage: u.errorMessage ?? null } : {}),
              ...(u.status !== "sent" ? { fallbackAt: null } : {}),
            })
            .where(eq(deliveries.id, row.id));
        }
        const sent = await sentDelivery(tx, { ...row, status: apply ? u.status : row.status }, now);
        const firstDelivered = apply && current < 3 && (u.status === "delivered" || u.status === "read");
        return sent && firstDelivered ? { ...sent, deliveredAfterMs: now - row.createdAt } : sent;
      });
    },
    async claimOverdueFallbacks(now, limit) {
      // Clearing the timer is the claim: a row another instance holds is skipped.
      const due = await db
        .update(deliveries)
        .set({ fallbackAt: null, updatedAt: now })
        .where(
          sql`${deliveries.id} in (select id from deliveries where fallback_at <= ${now}
            and status in ('accepted', 'sent') limit ${limit} for update skip locked)`,
        )
        .returning();
      const claimed: SentDelivery[] = [];
      for (const d of due) {
        const sent = await sentDelivery(db, d, now);
        if (sent) claimed.push(sent);
      }
      return claimed;
    },
    async advanceRoute(input) {
      return db.transaction(async (tx) => {
        const [from] = await tx.select().from(deliveries).where(eq(deliveries.id, input.fromDeliveryId));
        if (!from || !(await lockOnStep(tx, from.verificationId, from.step, input.now))) return false;
        await tx
          .update(deliveries)
          .set({ errorCode: from.errorCode ?? input.reason, fallbackAt: null, updatedAt: input.now })
          .where(eq(deliveries.id, from.id));
        await insertDelivery(tx, input.next, input.now);
        await tx.update(v).set({ currentStep: input.next.step, updatedAt: input.now }).where(eq(v.id, from.verificationId));
        return true;
      });
    },
    async listDeliveries(verificationId) {
      const list = await db
        .select()
        .from(deliveries)
        .where(eq(deliveries.verificationId, verificationId))
        .orderBy(asc(deliveries.createdAt));
      return list.map(toDelivery);
    },
    async countQueuedDeliveries() {
      const [r] = await rows<{ n: number }>(db, sql`select count(*)::int as n from deliveries where status = 'queued'`);
      return r?.n ?? 0;
    },
  };
}
