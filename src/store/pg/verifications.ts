import { and, desc, eq, gt, inArray, isNull, lte, type Placeholder, sql } from "drizzle-orm";
import type { NumberVault } from "../../core/number-vault.js";
import type { VerificationStore } from "../../core/store/verifications.js";
import { destinationIndex, sealedContext, storedNumber } from "../at-rest.js";
import { toVerification } from "../rows.js";
import { notInbound } from "./inbound.js";
import { namedRows, type OpenedPg, type PgExec } from "./open.js";
import { deliveries, verifications } from "./schema.js";
import { closeVerificationNamed, insertDelivery, insertDeliveryFrom } from "./writes.js";

/**
 * A verification's lifecycle on PostgreSQL. Each operation is one statement (conditional
 * `UPDATE … RETURNING`, `INSERT … ON CONFLICT`) or one short transaction whose first write locks the
 * row it decides on, so operations stay atomic with any number of instances on the same database.
 */
export function createPgVerificationStore({ db, pool }: OpenedPg, vault: NumberVault): VerificationStore {
  const v = verifications;
  const toVer = (r: typeof v.$inferSelect) => toVerification(r, vault);
  const live = (now: number | Placeholder) => and(eq(v.status, "pending"), gt(v.expiresAt, now));
  const at = (name: string) => sql.placeholder(name);

  // What every start and check asks: named statements, planned once per connection, instead of SQL
  // built and parsed on every call.
  const byId = db
    .select()
    .from(v)
    .where(and(eq(v.id, at("id")), eq(v.serviceId, at("serviceId"))))
    .prepare("verifications_by_id");
  const pendingFor = db
    .select()
    .from(v)
    .where(and(eq(v.serviceId, at("serviceId")), eq(v.to, at("to")), live(at("now")), notInbound))
    .prepare("verifications_pending_for");
  // The row lock serialises concurrent checks: each re-reads `checks` before counting.
  const countCheck = db
    .update(v)
    .set({ checks: sql`${v.checks} + 1`, updatedAt: sql`${at("now")}` })
    .where(
      and(
        eq(v.id, at("id")),
        eq(v.serviceId, at("serviceId")),
        live(at("now")),
        sql`${v.checks} < ${v.maxChecks}`,
        sql`${v.codeHash} is not null`,
      ),
    )
    .returning()
    .prepare("verifications_count_check");

  return {
    async getVerification(serviceId, id) {
      const [r] = await byId.execute({ id, serviceId });
      return r ? toVer(r) : null;
    },
    async findPendingByDestination(serviceId, to, now) {
      const [r] = await pendingFor.execute({ serviceId, to: destinationIndex(vault, to), now });
      return r ? toVer(r) : null;
    },
    async findLatestByDestination(serviceId, to) {
      const [r] = await db
        .select()
        .from(v)
        .where(and(eq(v.serviceId, serviceId), eq(v.to, destinationIndex(vault, to)), notInbound))
        .orderBy(desc(v.createdAt))
        .limit(1);
      return r ? toVer(r) : null;
    },

    async createVerification(ver, secrets, first) {
      const now = ver.createdAt;
      const to = storedNumber(vault, ver.to, sealedContext.destination(ver.id));
      const toIndex = to.index ?? "";
      // The partial unique index verifications_one_pending decides between concurrent starts.
      const insert = (exec: PgExec) =>
        exec
          .insert(v)
          .values({
            id: ver.id,
            serviceId: ver.serviceId,
            to: toIndex,
            toSealed: to.sealed,
            country: ver.country,
            status: ver.status,
            ...secrets,
            route: ver.route,
            currentStep: ver.currentStep,
            sends: ver.sends,
            checks: ver.checks,
            maxChecks: ver.maxChecks,
            maxSends: ver.maxSends,
            clientIp: ver.clientIp,
            createdAt: ver.createdAt,
            updatedAt: ver.updatedAt,
            expiresAt: ver.expiresAt,
            lastSentAt: ver.lastSentAt,
            approvedAt: ver.approvedAt,
            locale: ver.locale ?? null,
            amount: ver.transaction?.amount ?? null,
            payee: ver.transaction?.payee ?? null,
            test: ver.test ?? false,
          })
          .onConflictDoNothing()
          .returning({ id: v.id });
      // Usually nothing stands in the way: the verification and its first delivery are one statement
      // (one round trip, one commit), the delivery inserted only if the verification was.
      const [written] = await namedRows<{ n: number }>(
        pool,
        first
          ? sql`with inserted as (${insert(db).getSQL()}), delivered as (${insertDeliveryFrom(sql`inserted`, first, now)})
              select count(*)::int as n from inserted`
          : sql`with inserted as (${insert(db).getSQL()}) select count(*)::int as n from inserted`,
      );
      if ((written?.n ?? 0) > 0) return true;
      // The destination holds a pending verification: a live one (a concurrent start won) or one past
      // its expiry that nothing has closed yet, which is expired here before the insert is tried again.
      return db.transaction(async (tx) => {
        const expired = await tx
          .update(v)
          .set({ status: "expired", codeHash: null, sealedCode: null, updatedAt: now })
          // The one-pending index's own conditions, so the planner reads that small partial index.
          .where(
            and(
              eq(v.serviceId, ver.serviceId),
              eq(v.to, toIndex),
              eq(v.status, "pending"),
              isNull(v.inboundChannels),
              lte(v.expiresAt, now),
            ),
          )
          .returning({ id: v.id });
        if (!expired.length) return false;
        const inserted = await insert(tx);
        if (!inserted.length) return false;
        if (first) await insertDelivery(tx, first, now);
        return true;
      });
    },

    async recordResend(input) {
      const { id, now } = input;
      return db.transaction(async (tx) => {
        const [updated] = await tx
          .update(v)
          .set({
            sends: sql`${v.sends} + 1`,
            lastSentAt: now,
            updatedAt: now,
            ...(input.secrets ?? {}),
            ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
          })
          .where(
            and(eq(v.id, id), live(now), sql`${v.sends} < ${v.maxSends}`, sql`${v.lastSentAt} + ${input.cooldownMs} <= ${now}`),
          )
          .returning();
        if (!updated) {
          const [current] = await tx.select().from(v).where(eq(v.id, id));
          const ver = current ? toVer(current) : null;
          let reason: "cooldown" | "max_sends" | "not_pending" = "not_pending";
          if (ver && ver.status === "pending" && ver.expiresAt > now)
            reason = ver.sends >= ver.maxSends ? "max_sends" : "cooldown";
          return { kind: "refused" as const, reason, verification: ver };
        }
        // The new send supersedes a retry still waiting.
        await tx
          .update(deliveries)
          .set({ status: "canceled", nextTryAt: null, updatedAt: now })
          .where(and(eq(deliveries.verificationId, id), eq(deliveries.status, "queued")));
        if (input.delivery) await insertDelivery(tx, input.delivery, now);
        return { kind: "resent" as const, verification: toVer(updated) };
      });
    },

    async recordCheck(serviceId, id, now) {
      const [r] = await countCheck.execute({ id, serviceId, now });
      if (r?.codeHash) return { kind: "counted", verification: toVer(r), codeHash: r.codeHash };
      const [current] = await byId.execute({ id, serviceId });
      return { kind: "refused", verification: current ? toVer(current) : null };
    },
    async approve(id, now) {
      return closeVerificationNamed(pool, id, "approved", now);
    },
    async closeVerification(id, status, now) {
      return closeVerificationNamed(pool, id, status, now);
    },
    async expireDue(now, limit) {
      // Rows another instance is expiring right now are skipped, not waited for.
      const closed = await db.transaction(async (tx) => {
        const due = tx
          .select({ id: v.id })
          .from(v)
          .where(and(eq(v.status, "pending"), lte(v.expiresAt, now)))
          .limit(limit)
          .for("update", { skipLocked: true });
        const list = await tx
          .update(v)
          .set({ status: "expired", updatedAt: now, codeHash: null, sealedCode: null })
          .where(and(sql`${v.id} in ${due}`, eq(v.status, "pending")))
          .returning();
        if (list.length) {
          await tx
            .update(deliveries)
            .set({ status: "canceled", nextTryAt: null, updatedAt: now })
            .where(
              and(
                inArray(
                  deliveries.verificationId,
                  list.map((r) => r.id),
                ),
                eq(deliveries.status, "queued"),
              ),
            );
        }
        return list;
      });
      return closed.map(toVer);
    },
  };
}
