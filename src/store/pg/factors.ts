import { and, asc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { FactorStore } from "../../core/store/factors.js";
import { toFactor, toStoredFactor } from "../rows.js";
import type { OpenedPg } from "./open.js";
import { factors } from "./schema.js";

/**
 * Authenticator-app factors on PostgreSQL. The counting and accepting updates are single
 * conditional statements: concurrent attempts queue on the row lock and each re-reads the row.
 */
export function createPgFactorStore({ db }: OpenedPg): FactorStore {
  const f = factors;
  const unlocked = (now: number) => or(isNull(f.lockedUntil), lte(f.lockedUntil, now));

  return {
    async createFactor(factor) {
      await db.insert(f).values(factor);
    },
    async getFactor(serviceId, id) {
      const [r] = await db
        .select()
        .from(f)
        .where(and(eq(f.id, id), eq(f.serviceId, serviceId)));
      return r ? toStoredFactor(r) : null;
    },
    async listFactors(serviceId, entityId) {
      const list = await db
        .select()
        .from(f)
        .where(and(eq(f.serviceId, serviceId), eq(f.entityId, entityId)))
        .orderBy(asc(f.createdAt), asc(f.id));
      return list.map(toStoredFactor);
    },
    async deleteFactor(serviceId, id) {
      const deleted = await db
        .delete(f)
        .where(and(eq(f.id, id), eq(f.serviceId, serviceId)))
        .returning({ id: f.id });
      return deleted.length > 0;
    },
    async beginFactorAttempt({ id, now, maxFailures, lockMs }) {
      // SET expressions read the row as it was before the update.
      const [counted] = await db
        .update(f)
        .set({
          failedAttempts: sql`${f.failedAttempts} + 1`,
          lockedUntil: sql`case when ${f.failedAttempts} + 1 >= ${maxFailures} then ${now + lockMs}::bigint else null end`,
          updatedAt: now,
        })
        .where(and(eq(f.id, id), unlocked(now)))
        .returning();
      if (counted) return { kind: "counted", factor: toStoredFactor(counted) };
      const [current] = await db.select().from(f).where(eq(f.id, id));
      return current ? { kind: "locked", factor: toFactor(current) } : { kind: "not_found" };
    },
    async acceptFactorStep(input) {
      return db.transaction(async (tx) => {
        const cleared = { failedAttempts: 0, lockedUntil: null, updatedAt: input.now };
        const [accepted] = await tx
          .update(f)
          .set({ ...cleared, lastStep: input.step, ...(input.activate ? { status: "verified" } : {}) })
          .where(and(eq(f.id, input.id), sql`coalesce(${f.lastStep}, -1) < ${input.step}`))
          .returning();
        if (!accepted) {
          const [exists] = await tx.select({ id: f.id }).from(f).where(eq(f.id, input.id));
          return { kind: "refused" as const, reason: exists ? ("replayed" as const) : ("not_found" as const) };
        }
        if (input.alsoReset?.length) await tx.update(f).set(cleared).where(inArray(f.id, input.alsoReset));
        return { kind: "accepted" as const, factor: toFactor(accepted) };
      });
    },
  };
}
