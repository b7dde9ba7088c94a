import { and, asc, desc, eq, gt, inArray, lte, or, sql } from "drizzle-orm";
import type {
  ApiKey,
  Channel,
  Delivery,
  DeliveryJob,
  DeliveryStatus,
  NewDelivery,
  RouteStep,
  SentDelivery,
  ServiceRecord,
  StatusUpdate,
  Store,
  Verification,
  VerificationStatus,
} from "../../core/ports.js";
import { createSqliteFactorOperations } from "./factors.js";
import { type ClaimedRow, type JobContextRow, prepareHotStatements } from "./hot.js";
import { createSqliteInboundOperations, notInbound } from "./inbound.js";
import type { OpenedSqlite } from "./open.js";
import { createSqliteOptOutOperations } from "./opt-outs.js";
import { apiKeys, deliveries, idempotencyKeys, services, verifications } from "./schema.js";

type VerificationRow = typeof verifications.$inferSelect;
type DeliveryRow = typeof deliveries.$inferSelect;

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Routes written before steps had several providers stored `provider`; read them as one-provider steps. */
function readRoute(route: unknown): RouteStep[] {
  return (route as (RouteStep & { provider?: string })[]).map((s) =>
    s.providers ? s : { channel: s.channel, providers: s.provider ? [s.provider] : [], fallbackAfterMs: null },
  );
}

function toVerification(r: VerificationRow): Verification {
  return {
    id: r.id,
    serviceId: r.serviceId,
    to: r.to,
    country: r.country,
    status: r.status as VerificationStatus,
    route: readRoute(r.route),
    currentStep: r.currentStep,
    sends: r.sends,
    checks: r.checks,
    maxChecks: r.maxChecks,
    maxSends: r.maxSends,
    clientIp: r.clientIp,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    expiresAt: r.expiresAt,
    lastSentAt: r.lastSentAt,
    approvedAt: r.approvedAt,
    inboundChannels: r.inboundChannels ?? null,
    verifiedNumber: r.verifiedNumber,
  };
}

function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    verificationId: r.verificationId,
    step: r.step,
    channel: r.channel as Channel,
    provider: r.provider,
    status: r.status as DeliveryStatus,
    providerMessageId: r.providerMessageId,
    errorCode: r.errorCode,
    errorMessage: r.errorMessage,
    tries: r.tries,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

const p = (name: string) => sql.placeholder(name);

/**
 * The Store on SQLite. better-sqlite3 is synchronous, so each operation is one synchronous
 * transaction (nothing is awaited inside it) and therefore atomic; the async signature is the port's.
 */
export function createSqliteStore({ raw, db }: OpenedSqlite): Store {
  const v = verifications;
  const liveWhere = and(eq(v.status, "pending"), gt(v.expiresAt, p("now")));

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
  const insertDelivery = (d: NewDelivery, now: number) => hot.insertDelivery.run({ ...d, now });
  const cancelQueued = (verificationId: string, now: number) => hot.cancelQueued.run(now, verificationId);

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
    return {
      id: claimed.id,
      verificationId: row.id,
      serviceId: row.serviceId,
      serviceName: row.serviceName,
      to: row.to,
      step: claimed.step,
      channel: claimed.channel as Channel,
      provider: claimed.provider,
      tries: claimed.tries,
      route: readRoute(JSON.parse(row.route)),
      sealedCode: row.sealedCode,
      expiresAt: row.expiresAt,
      locale: row.locale,
    };
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
    const ver = db.select({ route: v.route }).from(v).where(eq(v.id, d.verificationId)).get();
    if (!ver) return null;
    return {
      deliveryId: d.id,
      verificationId: d.verificationId,
      step: d.step,
      provider: d.provider,
      route: readRoute(ver.route),
      onCurrentStep: stillOnStep(d.verificationId, d.step, now),
    };
  };

  const closeTx = raw.transaction((id: string, status: VerificationStatus, now: number) => {
    const changed = hot.closeVerification.run({ id, status, now }).changes;
    if (changed) cancelQueued(id, now);
    return changed > 0;
  });

  return {
    ...createSqliteFactorOperations({ raw, db }),
    ...createSqliteInboundOperations({ raw, db }, toVerification),
    ...createSqliteOptOutOperations({ raw, db }),
    async ping() {
      raw.prepare("select 1").get();
    },
    async close() {
      raw.close();
    },

    async getService(id) {
      const r = db.select().from(services).where(eq(services.id, id)).get();
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
      return r ? toVerification(r) : null;
    },
    async findPendingByDestination(serviceId, to, now) {
      const r = pendingByTo.get({ serviceId, to, now });
      return r ? toVerification(r) : null;
    },
    async findLatestByDestination(serviceId, to) {
      const r = latestByTo.get({ serviceId, to });
      return r ? toVerification(r) : null;
    },

    createVerification: (() => {
      const tx = raw.transaction((ver: Verification, secrets: { codeHash: Buffer; sealedCode: Buffer }, first) => {
        const now = ver.createdAt;
        hot.expireStale.run({ serviceId: ver.serviceId, to: ver.to, now });
        const inserted = hot.insertVerification.run({ ...ver, ...secrets, route: JSON.stringify(ver.route) }).changes;
        if (!inserted) return false;
        insertDelivery(first, now);
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
              eq(v.status, "pending"),
              gt(v.expiresAt, now),
              sql`${v.sends} < ${v.maxSends}`,
              sql`${v.lastSentAt} + ${input.cooldownMs} <= ${now}`,
            ),
          )
          .returning()
          .get();
        if (!updated) {
          const current = db.select().from(v).where(eq(v.id, id)).get();
          const ver = current ? toVerification(current) : null;
          let reason: "cooldown" | "max_sends" | "not_pending" = "not_pending";
          if (ver && ver.status === "pending" && ver.expiresAt > now)
            reason = ver.sends >= ver.maxSends ? "max_sends" : "cooldown";
          return { kind: "refused" as const, reason, verification: ver };
        }
        cancelQueued(id, now); // the new send supersedes a retry still waiting
        insertDelivery(input.delivery, now);
        return { kind: "resent" as const, verification: toVerification(updated) };
      });
      return async (input) => tx(input);
    })(),

    async recordCheck(serviceId, id, now) {
      const r = countCheck.get({ id, serviceId, now });
      if (r?.codeHash) return { kind: "counted", verification: toVerification(r), codeHash: r.codeHash };
      const current = byId.get({ id, serviceId });
      return { kind: "refused", verification: current ? toVerification(current) : null };
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
          .select({ id: v.id })
          .from(v)
          .where(and(eq(v.status, "pending"), lte(v.expiresAt, now)))
          .limit(limit)
          .all()
          .map((r) => r.id);
        for (const id of due) closeTx(id, "expired", now);
        return due.length;
      });
      return async (now, limit) => tx(now, limit);
    })(),

    claimDelivery: (() => {
      const tx = raw.transaction(claimOne);
      return async (id, now, leaseMs) => tx(id, now, leaseMs);
    })(),
    claimDueDeliveries: (() => {
      const tx = raw.transaction((now: number, leaseMs: number, limit: number) => {
        const due = db
          .select({ id: deliveries.id })
          .from(deliveries)
          .where(
            or(
              and(eq(deliveries.status, "queued"), lte(deliveries.nextTryAt, now)),
              and(eq(deliveries.status, "sending"), lte(deliveries.leaseUntil, now)),
            ),
          )
          .orderBy(asc(deliveries.nextTryAt))
          .limit(limit)
          .all();
        return due.map((d) => claimOne(d.id, now, leaseMs)).filter((j): j is DeliveryJob => j !== null);
      });
      return async (now, leaseMs, limit) => tx(now, leaseMs, limit);
    })(),
    recordDeliveryResult: (() => {
      const tx = raw.transaction((r: Parameters<Store["recordDeliveryResult"]>[0], now: number) => {
        const row = hot.recordResult.get({
          id: r.deliveryId,
          status: r.status,
          providerMessageId: r.providerMessageId ?? null,
          errorCode: r.errorCode ?? null,
          errorMessage: r.errorMessage ?? null,
          nextTryAt: r.status === "queued" ? (r.nextTryAt ?? now) : null,
          fallbackAt: r.status === "accepted" ? (r.fallbackAt ?? null) : null,
          now,
        }) as { verificationId: string; step: number } | undefined;
        // Only the delivery the route is waiting on may move it on (an older step's late failure may not).
        if (!row || r.status !== "failed" || !stillOnStep(row.verificationId, row.step, now)) return;
        if (r.fallback) {
          insertDelivery(r.fallback, now);
          db.update(v).set({ currentStep: r.fallback.step, updatedAt: now }).where(eq(v.id, row.verificationId)).run();
        } else if (r.failVerification) {
          closeTx(row.verificationId, "failed", now);
        }
      });
      return async (result, now) => tx(result, now);
    })(),
    recordStatus: (() => {
      // Ranks make updates monotonic: a late "sent" never undoes "delivered".
      const rank: Record<string, number> = { queued: 0, sending: 0, accepted: 1, sent: 2, delivered: 3, read: 4 };
      const tx = raw.transaction((provider: string, u: StatusUpdate, now: number) => {
        const row = db
          .select()
          .from(deliveries)
          .where(and(eq(deliveries.provider, provider), eq(deliveries.providerMessageId, u.providerMessageId)))
          .get();
        if (!row) return null;
        const current = rank[row.status] ?? 0; // failed, undelivered, canceled rank lowest
        const positive = u.status === "sent" || u.status === "delivered" || u.status === "read";
        const closed = row.status === "failed" || row.status === "undelivered" || row.status === "canceled";
        const apply = positive ? (rank[u.status] ?? 0) > current : current < 3 && !closed;
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
        return sentDelivery({ ...row, status: apply ? u.status : row.status }, now);
      });
      return async (provider, update, now) => tx(provider, update, now);
    })(),
    claimOverdueFallbacks: (() => {
      const tx = raw.transaction((now: number, limit: number) => {
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
      });
      return async (now, limit) => tx(now, limit);
    })(),
    advanceRoute: (() => {
      const tx = raw.transaction((input: { fromDeliveryId: string; next: NewDelivery; reason: string; now: number }) => {
        const from = db.select().from(deliveries).where(eq(deliveries.id, input.fromDeliveryId)).get();
        if (!from || !stillOnStep(from.verificationId, from.step, input.now)) return false;
        db.update(deliveries)
          .set({ errorCode: from.errorCode ?? input.reason, fallbackAt: null, updatedAt: input.now })
          .where(eq(deliveries.id, from.id))
          .run();
        insertDelivery(input.next, input.now);
        db.update(v).set({ currentStep: input.next.step, updatedAt: input.now }).where(eq(v.id, from.verificationId)).run();
        return true;
      });
      return async (input) => tx(input);
    })(),
    async listDeliveries(verificationId) {
      return db
        .select()
        .from(deliveries)
        .where(eq(deliveries.verificationId, verificationId))
        .orderBy(asc(deliveries.createdAt))
        .all()
        .map(toDelivery);
    },

    beginIdempotent: (() => {
      const tx = raw.transaction((serviceId: string, key: string, fingerprint: string, now: number) => {
        const where = and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key));
        db.delete(idempotencyKeys)
          .where(and(where, lte(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS)))
          .run();
        const inserted = db
          .insert(idempotencyKeys)
          .values({ serviceId, key, fingerprint, createdAt: now })
          .onConflictDoNothing()
          .run().changes;
        if (inserted) return { kind: "new" as const };
        const row = db.select().from(idempotencyKeys).where(where).get();
        if (!row || row.fingerprint !== fingerprint) return { kind: "mismatch" as const };
        if (row.responseStatus === null || row.responseBody === null) return { kind: "in_flight" as const };
        return { kind: "replay" as const, status: row.responseStatus, body: row.responseBody };
      });
      return async (serviceId, key, fingerprint, now) => tx(serviceId, key, fingerprint, now);
    })(),
    async finishIdempotent(serviceId, key, status, body) {
      db.update(idempotencyKeys)
        .set({ responseStatus: status, responseBody: body })
        .where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)))
        .run();
    },
    async abandonIdempotent(serviceId, key) {
      db.delete(idempotencyKeys)
        .where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)))
        .run();
    },
  };
}
