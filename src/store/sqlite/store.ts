import { and, desc, eq, gt, lte, sql } from "drizzle-orm";
import type { ApiKey, Verification, VerificationStatus } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { NewDelivery } from "../../core/store/deliveries.js";
import type { Store } from "../../core/store/index.js";
import { answeredVerificationId, destinationIndex, sealedContext, storedNumber } from "../at-rest.js";
import { toServiceRecord, toVerification, type VerificationRow } from "../rows.js";
import { createSqliteAdminOperations } from "./admin.js";
import { createSqliteAnalyticsOperations } from "./analytics.js";
import { createSqliteDeliveryOperations } from "./deliveries.js";
import { createSqliteEventOperations } from "./events.js";
import { createSqliteFactorOperations } from "./factors.js";
import { groupCommitFor, withGroupCommit } from "./group-commit.js";
import { prepareHotStatements } from "./hot.js";
import { createSqliteInboundOperations, notInbound } from "./inbound.js";
import { statusIs } from "./literal.js";
import type { OpenedSqlite } from "./open.js";
import { createSqliteOptOutOperations } from "./opt-outs.js";
import { sqliteReadiness } from "./readiness.js";
import { createSqliteRetentionOperations } from "./retention.js";
import { apiKeys, idempotencyKeys, services, verifications } from "./schema.js";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const fingerprintContext = sealedContext.idempotentFingerprint;

const p = (name: string) => sql.placeholder(name);

/**
 * The Store on SQLite. better-sqlite3 is synchronous, so each operation is one synchronous
 * transaction (nothing is awaited inside it) and therefore atomic; the async signature is the port's.
 * Phone numbers are stored as blind indexes beside sealed copies (`vault`, see store/at-rest.ts);
 * the port speaks plain E.164.
 */
export function createSqliteStore({ raw, db }: OpenedSqlite, vault: NumberVault): Store {
  const v = verifications;
  const toVer = (r: VerificationRow) => toVerification(r, vault);
  const liveWhere = and(statusIs(v.status, "pending"), gt(v.expiresAt, p("now")));

  // Prepared statements for the hot paths (start, check, status).
  const byId = db
    .select()
    .from(v)
    .where(and(eq(v.id, p("id")), eq(v.serviceId, p("serviceId"))))
    .prepare();
  const pendingByTo = db
    .select()
    .from(v)
    .where(and(eq(v.serviceId, p("serviceId")), eq(v.to, p("to")), liveWhere, notInbound))
    .prepare();
  const latestByTo = db
    .select()
    .from(v)
    .where(and(eq(v.serviceId, p("serviceId")), eq(v.to, p("to")), notInbound))
    .orderBy(desc(v.createdAt))
    .limit(1)
    .prepare();
  const countCheck = db
    .update(v)
    .set({ checks: sql`${v.checks} + 1`, updatedAt: sql`${p("now")}` })
    .where(
      and(
        eq(v.id, p("id")),
        eq(v.serviceId, p("serviceId")),
        liveWhere,
        sql`${v.checks} < ${v.maxChecks}`,
        sql`${v.codeHash} is not null`,
      ),
    )
    .returning()
    .prepare();
  const keyByHash = db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.secretHash, p("hash")))
    .prepare();

  const hot = prepareHotStatements(raw);
  const insertDelivery = (d: NewDelivery, now: number) => hot.insertDelivery.run({ ...d, leaseUntil: d.leaseUntil ?? null, now });
  const cancelQueued = (verificationId: string, now: number) => hot.cancelQueued.run(now, verificationId);

  const closeTx = raw.transaction((id: string, status: VerificationStatus, now: number) => {
    const changed = hot.closeVerification.run({ id, status, now }).changes;
    if (changed) cancelQueued(id, now);
    return changed > 0;
  });

  const deliveryOps = createSqliteDeliveryOperations({ raw, db, vault, hot, insertDelivery, closeTx });
  const store: Store = {
    ...createSqliteAdminOperations({ raw, db }),
    ...createSqliteAnalyticsOperations({ raw, db }, toVer),
    ...createSqliteFactorOperations({ raw, db }),
    ...createSqliteInboundOperations({ raw, db }, vault, toVer),
    ...createSqliteOptOutOperations({ raw, db }, vault),
    ...createSqliteEventOperations({ raw, db }, vault),
    ...createSqliteRetentionOperations({ raw, db }, vault),
    async ping() {
      raw.prepare("select 1").get();
    },
    async readiness() {
      return sqliteReadiness(raw);
    },
    async close() {
      raw.close();
    },

    async getService(id) {
      const r = db.select().from(services).where(eq(services.id, id)).get();
      return r ? toServiceRecord(r) : null;
    },
    async ensureService(s, now) {
      db.insert(services)
        .values({ id: s.id, name: s.name, route: s.route, countryRoutes: s.countryRoutes ?? {}, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({
          target: services.id,
          set: { name: s.name, route: s.route, countryRoutes: s.countryRoutes ?? {}, updatedAt: now },
        })
        .run();
    },

    async findApiKeyByHash(hash) {
      const r = keyByHash.get({ hash });
      return r ? ({ id: r.id, serviceId: r.serviceId, prefix: r.prefix, revokedAt: r.revokedAt } as ApiKey) : null;
    },
    async insertApiKey(k) {
      db.insert(apiKeys)
        .values({
          id: k.id,
          serviceId: k.serviceId,
          label: k.label,
          prefix: k.prefix,
          secretHash: k.secretHash,
          createdAt: k.createdAt,
        })
        .run();
    },
    async countActiveAdminKeys() {
      const r = raw.prepare("select count(*) as n from api_keys where service_id is null and revoked_at is null").get() as {
        n: number;
      };
      return r.n;
    },

    async getVerification(serviceId, id) {
      const r = byId.get({ id, serviceId });
      return r ? toVer(r) : null;
    },
    async findPendingByDestination(serviceId, to, now) {
      const r = pendingByTo.get({ serviceId, to: destinationIndex(vault, to), now });
      return r ? toVer(r) : null;
    },
    async findLatestByDestination(serviceId, to) {
      const r = latestByTo.get({ serviceId, to: destinationIndex(vault, to) });
      return r ? toVer(r) : null;
    },

    createVerification: (() => {
      const tx = raw.transaction((ver: Verification, secrets: { codeHash: Buffer; sealedCode: Buffer }, first) => {
        const now = ver.createdAt;
        const to = storedNumber(vault, ver.to, sealedContext.destination(ver.id));
        hot.expireStale.run({ serviceId: ver.serviceId, to: to.index, now });
        const inserted = hot.insertVerification.run({
          ...ver,
          ...secrets,
          to: to.index,
          toSealed: to.sealed,
          route: JSON.stringify(ver.route),
          locale: ver.locale ?? null,
          amount: ver.transaction?.amount ?? null,
          payee: ver.transaction?.payee ?? null,
          test: ver.test ? 1 : 0,
        }).changes;
        if (!inserted) return false;
        if (first) insertDelivery(first, now);
        return true;
      });
      return async (ver, secrets, first) => tx(ver, secrets, first);
    })(),

    recordResend: (() => {
      const tx = raw.transaction((input: Parameters<Store["recordResend"]>[0]) => {
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
          if (ver && ver.status === "pending" && ver.expiresAt > now)
            reason = ver.sends >= ver.maxSends ? "max_sends" : "cooldown";
          return { kind: "refused" as const, reason, verification: ver };
        }
        cancelQueued(id, now); // the new send supersedes a retry still waiting
        if (input.delivery) insertDelivery(input.delivery, now);
        return { kind: "resent" as const, verification: toVer(updated) };
      });
      return async (input) => tx(input);
    })(),

    async recordCheck(serviceId, id, now) {
      const r = countCheck.get({ id, serviceId, now });
      if (r?.codeHash) return { kind: "counted", verification: toVer(r), codeHash: r.codeHash };
      const current = byId.get({ id, serviceId });
      return { kind: "refused", verification: current ? toVer(current) : null };
    },
    async approve(id, now) {
      return closeTx(id, "approved", now);
    },
    async closeVerification(id, status, now) {
      return closeTx(id, status, now);
    },
    expireDue: (() => {
      const tx = raw.transaction((now: number, limit: number) => {
        const due = db
          .select()
          .from(v)
          .where(and(statusIs(v.status, "pending"), lte(v.expiresAt, now)))
          .limit(limit)
          .all();
        for (const row of due) closeTx(row.id, "expired", now);
        return due.map((row) => ({ ...toVer(row), status: "expired" as const, updatedAt: now }));
      });
      return async (now, limit) => tx(now, limit);
    })(),

    ...deliveryOps,
    beginIdempotent: (() => {
      const tx = raw.transaction((serviceId: string, key: string, fingerprint: string, now: number) => {
        const where = and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key));
        db.delete(idempotencyKeys)
          .where(and(where, lte(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS)))
          .run();
        const inserted = db
          .insert(idempotencyKeys)
          .values({
            serviceId,
            key,
            fingerprint: vault.sealText(fingerprint, fingerprintContext(serviceId, key)),
            createdAt: now,
          })
          .onConflictDoNothing()
          .run().changes;
        if (inserted) return { kind: "new" as const };
        const row = db.select().from(idempotencyKeys).where(where).get();
        // Fingerprints are digests of the caller's own request: equality needs no constant time.
        if (!row || vault.openText(row.fingerprint, fingerprintContext(serviceId, key)) !== fingerprint)
          return { kind: "mismatch" as const };
        if (row.responseStatus === null || row.responseBody === null) return { kind: "in_flight" as const };
        const body = vault.openText(row.responseBody, sealedContext.idempotentBody(serviceId, key));
        return { kind: "replay" as const, status: row.responseStatus, body };
      });
      return async (serviceId, key, fingerprint, now) => tx(serviceId, key, fingerprint, now);
    })(),
    async finishIdempotent(serviceId, key, status, body) {
      db.update(idempotencyKeys)
        .set({
          responseStatus: status,
          responseBody: vault.sealText(body, sealedContext.idempotentBody(serviceId, key)),
          verificationId: answeredVerificationId(body),
        })
        .where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)))
        .run();
    },
    async abandonIdempotent(serviceId, key) {
      db.delete(idempotencyKeys)
        .where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)))
        .run();
    },
  };
  // Every operation joins the connection's group commit (see group-commit.ts).
  return withGroupCommit(store, groupCommitFor(raw));
}
