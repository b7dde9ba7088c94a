import { and, desc, eq, gt, inArray, isNull, lte, sql } from "drizzle-orm";
import type { ApiKey } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { Store } from "../../core/store/index.js";
import { answeredVerificationId, destinationIndex, sealedContext, storedNumber } from "../at-rest.js";
import { toServiceRecord, toVerification } from "../rows.js";
import { createPgAdminOperations } from "./admin.js";
import { createPgAnalyticsOperations } from "./analytics.js";
import { createPgDeliveryOperations } from "./deliveries.js";
import { createPgEventOperations } from "./events.js";
import { createPgFactorOperations } from "./factors.js";
import { createPgInboundOperations, notInbound } from "./inbound.js";
import { type OpenedPg, rows } from "./open.js";
import { createPgOptOutOperations } from "./opt-outs.js";
import { pgReadiness } from "./readiness.js";
import { createPgRetentionOperations } from "./retention.js";
import { apiKeys, deliveries, idempotencyKeys, services, verifications } from "./schema.js";
import { closeVerification, insertDelivery } from "./writes.js";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const fingerprintContext = sealedContext.idempotentFingerprint;

/**
 * The Store on PostgreSQL. Each operation is one statement (conditional `UPDATE … RETURNING`,
 * `INSERT … ON CONFLICT`) or one short transaction whose first write locks the row it decides on,
 * so operations stay atomic with any number of instances on the same database.
 * Phone numbers are stored as blind indexes beside sealed copies (`vault`, see store/at-rest.ts),
 * exactly as on SQLite; the port speaks plain E.164.
 */
export function createPgStore({ pool, db }: OpenedPg, vault: NumberVault): Store {
  const v = verifications;
  const toVer = (r: typeof v.$inferSelect) => toVerification(r, vault);
  const live = (now: number) => and(eq(v.status, "pending"), gt(v.expiresAt, now));

  return {
    ...createPgAdminOperations(db),
    ...createPgAnalyticsOperations(db, toVer),
    ...createPgFactorOperations(db),
    ...createPgInboundOperations(db, vault),
    ...createPgOptOutOperations(db, vault),
    ...createPgEventOperations(db, vault),
    ...createPgRetentionOperations(db, vault),
    ...createPgDeliveryOperations(db, vault),
    async ping() {
      await pool.query("select 1");
    },
    async readiness() {
      return pgReadiness(db);
    },
    async close() {
      await pool.end();
    },

    async getService(id) {
      const [r] = await db.select().from(services).where(eq(services.id, id));
      return r ? toServiceRecord(r) : null;
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
      return r ? toVer(r) : null;
    },
    async findPendingByDestination(serviceId, to, now) {
      const [r] = await db
        .select()
        .from(v)
        .where(and(eq(v.serviceId, serviceId), eq(v.to, destinationIndex(vault, to)), live(now), notInbound));
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
      return db.transaction(async (tx) => {
        const now = ver.createdAt;
        const to = storedNumber(vault, ver.to, sealedContext.destination(ver.id));
        const toIndex = to.index ?? "";
        await tx
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
          );
        // The partial unique index verifications_one_pending decides between concurrent starts.
        const inserted = await tx
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
      if (r?.codeHash) return { kind: "counted", verification: toVer(r), codeHash: r.codeHash };
      const [current] = await db
        .select()
        .from(v)
        .where(and(eq(v.id, id), eq(v.serviceId, serviceId)));
      return { kind: "refused", verification: current ? toVer(current) : null };
    },
    async approve(id, now) {
      return closeVerification(db, id, "approved", now);
    },
    async closeVerification(id, status, now) {
      return closeVerification(db, id, status, now);
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

    async beginIdempotent(serviceId, key, fingerprint, now) {
      const where = and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key));
      return db.transaction(async (tx) => {
        await tx.delete(idempotencyKeys).where(and(where, lte(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS)));
        // A concurrent insert of the same key makes this one wait for it, then do nothing.
        const inserted = await tx
          .insert(idempotencyKeys)
          .values({
            serviceId,
            key,
            fingerprint: vault.sealText(fingerprint, fingerprintContext(serviceId, key)),
            createdAt: now,
          })
          .onConflictDoNothing()
          .returning({ key: idempotencyKeys.key });
        if (inserted.length) return { kind: "new" as const };
        const [row] = await tx.select().from(idempotencyKeys).where(where);
        // Fingerprints are digests of the caller's own request: equality needs no constant time.
        if (!row || vault.openText(row.fingerprint, fingerprintContext(serviceId, key)) !== fingerprint)
          return { kind: "mismatch" as const };
        if (row.responseStatus === null || row.responseBody === null) return { kind: "in_flight" as const };
        const body = vault.openText(row.responseBody, sealedContext.idempotentBody(serviceId, key));
        return { kind: "replay" as const, status: row.responseStatus, body };
      });
    },
    async finishIdempotent(serviceId, key, status, body) {
      await db
        .update(idempotencyKeys)
        .set({
          responseStatus: status,
          responseBody: vault.sealText(body, sealedContext.idempotentBody(serviceId, key)),
          verificationId: answeredVerificationId(body),
        })
        .where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)));
    },
    async abandonIdempotent(serviceId, key) {
      await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)));
    },
  };
}
