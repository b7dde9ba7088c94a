import { and, desc, eq, gt, lte, sql } from "drizzle-orm";
import type { ApiKey, ServiceRecord, Store } from "../../core/ports.js";
import { createPgAdminOperations } from "./admin.js";
import { createPgDeliveryOperations } from "./deliveries.js";
import { createPgEventOperations } from "./events.js";
import { createPgFactorOperations } from "./factors.js";
import { createPgInboundOperations, notInbound } from "./inbound.js";
import { type OpenedPg, rows } from "./open.js";
import { createPgOptOutOperations } from "./opt-outs.js";
import { createPgRetentionOperations } from "./retention.js";
import { readRoute, toPgVerification as toVerification } from "./rows.js";
import { apiKeys, deliveries, idempotencyKeys, services, verifications } from "./schema.js";
import { closeVerification, insertDelivery } from "./writes.js";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * The Store on PostgreSQL. Each operation is one statement (conditional `UPDATE … RETURNING`,
 * `INSERT … ON CONFLICT`) or one short transaction whose first write locks the row it decides on,
 * so operations stay atomic with any number of instances on the same database.
 */
export function createPgStore({ pool, db }: OpenedPg): Store {
  const v = verifications;
  const live = (now: number) => and(eq(v.status, "pending"), gt(v.expiresAt, now));

  return {
    ...createPgAdminOperations(db),
    ...createPgFactorOperations(db),
    ...createPgInboundOperations(db),
    ...createPgOptOutOperations(db),
    ...createPgEventOperations(db),
    ...createPgRetentionOperations(db),
    ...createPgDeliveryOperations(db),
    async ping() {
      await pool.query("select 1");
    },
    async close() {
      await pool.end();
    },

    async getService(id) {
      const [r] = await db.select().from(services).where(eq(services.id, id));
      return r
        ? ({
            id: r.id,
            name: r.name,
            policy: r.policy,
            route: readRoute(r.route),
            countryRoutes: r.countryRoutes,
          } as ServiceRecord)
        : null;
    },
    async ensureService(s, now) {
      const countryRoutes = s.countryRoutes ?? {};
      await db
        .insert(services)
        .values({ id: s.id, name: s.name, route: s.route, countryRoutes, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: services.id, set: { name: s.name, route: s.route, countryRoutes, updatedAt: now } });
    },

    async findApiKeyByHash(hash) {
      const [r] = await db.select().from(apiKeys).where(eq(apiKeys.secretHash, hash));
      return r ? ({ id: r.id, serviceId: r.serviceId, prefix: r.prefix, revokedAt: r.revokedAt } as ApiKey) : null;
    },
    async insertApiKey(k) {
      await db.insert(apiKeys).values({
        id: k.id,
        serviceId: k.serviceId,
        label: k.label,
        prefix: k.prefix,
        secretHash: k.secretHash,
        createdAt: k.createdAt,
      });
    },
    async countActiveAdminKeys() {
      const [r] = await rows<{ n: number }>(
        db,
        sql`select count(*)::int as n from api_keys where service_id is null and revoked_at is null`,
      );
      return r?.n ?? 0;
    },

    async getVerification(serviceId, id) {
      const [r] = await db
        .select()
        .from(v)
        .where(and(eq(v.id, id), eq(v.serviceId, serviceId)));
      return r ? toVerification(r) : null;
    },
    async findPendingByDestination(serviceId, to, now) {
      const [r] = await db
        .select()
        .from(v)
        .where(and(eq(v.serviceId, serviceId), eq(v.to, to), live(now), notInbound));
      return r ? toVerification(r) : null;
    },
    async findLatestByDestination(serviceId, to) {
      const [r] = await db
        .select()
        .from(v)
        .where(and(eq(v.serviceId, serviceId), eq(v.to, to), notInbound))
        .orderBy(desc(v.createdAt))
        .limit(1);
      return r ? toVerification(r) : null;
    },

    async createVerification(ver, secrets, first) {
      return db.transaction(async (tx) => {
        const now = ver.createdAt;
        await tx
          .update(v)
          .set({ status: "expired", codeHash: null, sealedCode: null, updatedAt: now })
          .where(and(eq(v.serviceId, ver.serviceId), eq(v.to, ver.to), eq(v.status, "pending"), lte(v.expiresAt, now)));
        // The partial unique index verifications_one_pending decides between concurrent starts.
        const inserted = await tx
          .insert(v)
          .values({
            id: ver.id,
            serviceId: ver.serviceId,
            to: ver.to,
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
          })
          .onConflictDoNothing()
          .returning({ id: v.id });
        if (!inserted.length) return false;
        await insertDelivery(tx, first, now);
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
          const ver = current ? toVerification(current) : null;
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
        await insertDelivery(tx, input.delivery, now);
        return { kind: "resent" as const, verification: toVerification(updated) };
      });
    },

    async recordCheck(serviceId, id, now) {
      // The row lock serialises concurrent checks: each re-reads `checks` before counting.
      const [r] = await db
        .update(v)
        .set({ checks: sql`${v.checks} + 1`, updatedAt: now })
        .where(
          and(
            eq(v.id, id),
            eq(v.serviceId, serviceId),
            live(now),
            sql`${v.checks} < ${v.maxChecks}`,
            sql`${v.codeHash} is not null`,
          ),
        )
        .returning();
      if (r?.codeHash) return { kind: "counted", verification: toVerification(r), codeHash: r.codeHash };
      const [current] = await db
        .select()
        .from(v)
        .where(and(eq(v.id, id), eq(v.serviceId, serviceId)));
      return { kind: "refused", verification: current ? toVerification(current) : null };
    },
    async approve(id, now) {
      return closeVerification(db, id, "approved", now);
    },
    async closeVerification(id, status, now) {
      return closeVerification(db, id, status, now);
    },
    async expireDue(now, limit) {
      // Rows another instance is expiring right now are skipped, not waited for.
      const [r] = await rows<{ n: number }>(
        db,
        sql`with due as (
            select id from verifications where status = 'pending' and expires_at <= ${now}
            limit ${limit} for update skip locked),
          closed as (
            update verifications v set status = 'expired', updated_at = ${now}, code_hash = null, sealed_code = null
            from due where v.id = due.id and v.status = 'pending' returning v.id),
          canceled as (
            update deliveries set status = 'canceled', next_try_at = null, updated_at = ${now}
            where verification_id in (select id from closed) and status = 'queued')
          select count(*)::int as n from closed`,
      );
      return r?.n ?? 0;
    },

    async beginIdempotent(serviceId, key, fingerprint, now) {
      const where = and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key));
      return db.transaction(async (tx) => {
        await tx.delete(idempotencyKeys).where(and(where, lte(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS)));
        // A concurrent insert of the same key makes this one wait for it, then do nothing.
        const inserted = await tx
          .insert(idempotencyKeys)
          .values({ serviceId, key, fingerprint, createdAt: now })
          .onConflictDoNothing()
          .returning({ key: idempotencyKeys.key });
        if (inserted.length) return { kind: "new" as const };
        const [row] = await tx.select().from(idempotencyKeys).where(where);
        if (!row || row.fingerprint !== fingerprint) return { kind: "mismatch" as const };
        if (row.responseStatus === null || row.responseBody === null) return { kind: "in_flight" as const };
        return { kind: "replay" as const, status: row.responseStatus, body: row.responseBody };
      });
    },
    async finishIdempotent(serviceId, key, status, body) {
      await db
        .update(idempotencyKeys)
        .set({ responseStatus: status, responseBody: body })
        .where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)));
    },
    async abandonIdempotent(serviceId, key) {
      await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)));
    },
  };
}
