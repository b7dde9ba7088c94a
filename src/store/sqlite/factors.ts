import { and, asc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { FactorAcceptance, FactorAttempt, FactorStore } from "../../core/store/factors.js";
import { toFactor, toStoredFactor } from "../rows.js";
import { atomic } from "./atomic.js";
import type { SqliteStoreContext } from "./context.js";
import { factors } from "./schema.js";

/**
 * Authenticator-app factors on SQLite. Each is one statement, or one synchronous
 * transaction, so each is atomic; the lockout and replay rules sit in the `WHERE` clauses.
 */
export function createSqliteFactorStore({ raw, db }: SqliteStoreContext): FactorStore {
  const f = factors;
  const unlocked = (now: number) => or(isNull(f.lockedUntil), lte(f.lockedUntil, now));

  return {
    async createFactor(factor) {
      db.insert(f).values(factor).run();
    },
    async getFactor(serviceId, id) {
      const r = db
        .select()
        .from(f)
        .where(and(eq(f.id, id), eq(f.serviceId, serviceId)))
        .get();
      return r ? toStoredFactor(r) : null;
    },
    async listFactors(serviceId, entityId) {
      return db
        .select()
        .from(f)
        .where(and(eq(f.serviceId, serviceId), eq(f.entityId, entityId)))
        .orderBy(asc(f.createdAt), asc(f.id))
        .all()
        .map(toStoredFactor);
    },
    async deleteFactor(serviceId, id) {
      return (
        db
          .delete(f)
          .where(and(eq(f.id, id), eq(f.serviceId, serviceId)))
          .run().changes > 0
      );
    },
    beginFactorAttempt: atomic(raw, (input: { id: string; now: number; maxFailures: number; lockMs: number }): FactorAttempt => {
      const { id, now, maxFailures, lockMs } = input;
      // SET expressions read the row as it was before the update, so both see the same old count.
      const counted = db
        .update(f)
        .set({
          failedAttempts: sql`${f.failedAttempts} + 1`,
          lockedUntil: sql`case when ${f.failedAttempts} + 1 >= ${maxFailures} then ${now + lockMs} else null end`,
          updatedAt: now,
        })
        .where(and(eq(f.id, id), unlocked(now)))
        .returning()
        .get();
      if (counted) return { kind: "counted", factor: toStoredFactor(counted) };
      const current = db.select().from(f).where(eq(f.id, id)).get();
      return current ? { kind: "locked", factor: toFactor(current) } : { kind: "not_found" };
    }),
    acceptFactorStep: atomic(
      raw,
      (input: { id: string; step: number; now: number; activate: boolean; alsoReset?: string[] }): FactorAcceptance => {
        const cleared = { failedAttempts: 0, lockedUntil: null, updatedAt: input.now };
        const accepted = db
          .update(f)
          .set({ ...cleared, lastStep: input.step, ...(input.activate ? { status: "verified" } : {}) })
          .where(and(eq(f.id, input.id), sql`coalesce(${f.lastStep}, -1) < ${input.step}`))
          .returning()
          .get();
        if (!accepted) {
          const exists = db.select({ id: f.id }).from(f).where(eq(f.id, input.id)).get();
          return { kind: "refused", reason: exists ? "replayed" : "not_found" };
        }
        if (input.alsoReset?.length) db.update(f).set(cleared).where(inArray(f.id, input.alsoReset)).run();
        return { kind: "accepted", factor: toFactor(accepted) };
      },
    ),
  };
}
