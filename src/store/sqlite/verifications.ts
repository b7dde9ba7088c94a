import { and, eq, gt, lte, sql } from "drizzle-orm";
import type { Verification } from "../../core/model.js";
import type { NewDelivery } from "../../core/store/deliveries.js";
import type { CodeSecrets, VerificationStore } from "../../core/store/verifications.js";
import { destinationIndex, sealedContext, storedNumber } from "../at-rest.js";
import { atomic } from "./atomic.js";
import type { SqliteStoreContext } from "./context.js";
import { statusIs } from "./literal.js";
import { rowColumns } from "./row-columns.js";
import { verifications } from "./schema.js";

/**
 * A verification's lifecycle on SQLite. Phone numbers are stored as blind indexes beside sealed
 * copies (`vault`, see store/at-rest.ts); the port speaks plain E.164.
 */
export function createSqliteVerificationStore(ctx: SqliteStoreContext): VerificationStore {
  const { raw, db, vault, hot, toVerification: toVer, insertDelivery, cancelQueued, closeTx } = ctx;
  const v = verifications;

  // The hot paths' reads and the check's count (start, check, status): better-sqlite3 statements that
  // name every column as drizzle's row does. Through drizzle's prepared queries, mapping the row's
  // columns one by one cost more than running the statement.
  const columns = rowColumns(v);
  const byId = raw.prepare(`select ${columns.list} from verifications where id = @id and service_id = @serviceId`);
  // Its conditions are the partial index verifications_one_pending's, which SQLite then reads.
  const pendingByTo = raw.prepare(
    `select ${columns.list} from verifications
      where service_id = @serviceId and to_number = @to and status = 'pending' and expires_at > @now
        and inbound_channels is null`,
  );
  const latestByTo = raw.prepare(
    `select ${columns.list} from verifications
      where service_id = @serviceId and to_number = @to and inbound_channels is null
      order by created_at desc limit 1`,
  );
  const countCheck = raw.prepare(
    `update verifications set checks = checks + 1, updated_at = @now
      where id = @id and service_id = @serviceId and status = 'pending' and expires_at > @now
        and checks < max_checks and code_hash is not null
      returning ${columns.list}`,
  );
  const rowOf = (r: unknown) => (r === undefined ? undefined : columns.decode(r));

  return {
    async getVerification(serviceId, id) {
      const r = rowOf(byId.get({ id, serviceId }));
      return r ? toVer(r) : null;
    },
    async findPendingByDestination(serviceId, to, now) {
      const r = rowOf(pendingByTo.get({ serviceId, to: destinationIndex(vault, to), now }));
      return r ? toVer(r) : null;
    },
    async findLatestByDestination(serviceId, to) {
      const r = rowOf(latestByTo.get({ serviceId, to: destinationIndex(vault, to) }));
      return r ? toVer(r) : null;
    },

    createVerification: atomic(raw, (ver: Verification, secrets: CodeSecrets, first: NewDelivery | null) => {
      const now = ver.createdAt;
      const to = storedNumber(vault, ver.to, sealedContext.destination(ver.id));
      const row = {
        ...ver,
        ...secrets,
        to: to.index,
        toSealed: to.sealed,
        route: JSON.stringify(ver.route),
        locale: ver.locale ?? null,
        amount: ver.transaction?.amount ?? null,
        payee: ver.transaction?.payee ?? null,
        test: ver.test ? 1 : 0,
      };
      // The one-pending index refuses the row while an earlier verification of the number is still
      // marked pending. One past its expiry is closed here and the row tried again; a live one wins.
      // Closing only on a conflict spares every other start that write.
      let inserted = hot.insertVerification.run(row).changes;
      if (!inserted && hot.expireStale.run({ serviceId: ver.serviceId, to: to.index, now }).changes)
        inserted = hot.insertVerification.run(row).changes;
      if (!inserted) return false;
      if (first) insertDelivery(first, now);
      return true;
    }),

    recordResend: atomic(raw, (input: Parameters<VerificationStore["recordResend"]>[0]) => {
      const { id, now } = input;
      const updated = db
        .update(v)
        .set({
          sends: sql`${v.sends} + 1`,
          lastSentAt: now,
          updatedAt: now,
          ...(input.secrets ?? {}),
          ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
        })
        .where(
          and(
            eq(v.id, id),
            statusIs(v.status, "pending"),
            gt(v.expiresAt, now),
            sql`${v.sends} < ${v.maxSends}`,
            sql`${v.lastSentAt} + ${input.cooldownMs} <= ${now}`,
          ),
        )
        .returning()
        .get();
      if (!updated) {
        const current = db.select().from(v).where(eq(v.id, id)).get();
        const ver = current ? toVer(current) : null;
        let reason: "cooldown" | "max_sends" | "not_pending" = "not_pending";
        if (ver && ver.status === "pending" && ver.expiresAt > now) reason = ver.sends >= ver.maxSends ? "max_sends" : "cooldown";
        return { kind: "refused" as const, reason, verification: ver };
      }
      cancelQueued(id, now); // the new send supersedes a retry still waiting
      if (input.delivery) insertDelivery(input.delivery, now);
      return { kind: "resent" as const, verification: toVer(updated) };
    }),

    async recordCheck(serviceId, id, now) {
      const r = rowOf(countCheck.get({ id, serviceId, now }));
      if (r?.codeHash) return { kind: "counted", verification: toVer(r), codeHash: r.codeHash };
      const current = rowOf(byId.get({ id, serviceId }));
      return { kind: "refused", verification: current ? toVer(current) : null };
    },
    async approve(id, now) {
      return closeTx(id, "approved", now);
    },
    async closeVerification(id, status, now) {
      return closeTx(id, status, now);
    },
    expireDue: atomic(raw, (now: number, limit: number) => {
      const due = db
        .select()
        .from(v)
        .where(and(statusIs(v.status, "pending"), lte(v.expiresAt, now)))
        .limit(limit)
        .all();
      for (const row of due) closeTx(row.id, "expired", now);
      return due.map((row) => ({ ...toVer(row), status: "expired" as const, updatedAt: now }));
    }),
  };
}
