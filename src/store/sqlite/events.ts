import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import type { EventType } from "../../core/model.js";
import type { EventResult, EventStore } from "../../core/store/events.js";
import { sealedContext } from "../at-rest.js";
import { toEventEntry } from "../rows.js";
import { atomic } from "./atomic.js";
import type { SqliteStoreContext } from "./context.js";
import { events, services } from "./schema.js";

/**
 * Event webhooks on SQLite; the claim is one synchronous transaction.
 * Payloads are sealed at rest and opened when claimed, so the worker signs the exact text enqueued.
 */
export function createSqliteEventStore({ raw, db, vault }: SqliteStoreContext): EventStore {
  const e = events;
  // The planner would pick events_listing (status, created_at) and sort every pending event on each
  // pass; a backlog then makes every claim slower. events_due (next_try_at, pending only) reads just
  // the due rows, in order.
  const dueEvents = raw.prepare(
    `select id, type, service_id as serviceId, payload, tries from events indexed by events_due
     where status = 'pending' and next_try_at <= ? order by next_try_at limit ?`,
  );
  const lease = raw.prepare("update events set next_try_at = ?, updated_at = ? where id = ?");
  // A whole batch of tries in one transaction; a result without `lastError` keeps the stored one.
  const recordResult = raw.prepare(
    `update events set status = @status, tries = @tries, next_try_at = @nextTryAt,
       last_error = case when @keepLastError then last_error else @lastError end, updated_at = @now
     where id = @id`,
  );
  const recordResults = raw.transaction((results: readonly EventResult[], now: number) => {
    for (const r of results) {
      recordResult.run({
        id: r.id,
        status: r.status,
        tries: r.tries,
        nextTryAt: r.status === "pending" ? (r.nextTryAt ?? now) : null,
        keepLastError: r.lastError === undefined ? 1 : 0,
        lastError: r.lastError ?? null,
        now,
      });
    }
  });

  // Served by the partial index events_due (status = 'pending').
  const countPending = raw.prepare("select count(*) as n from events where status = 'pending'");

  // Two or three events per verification: prepared once (drizzle's builder re-prepares on every run).
  const insertEvent = raw.prepare(
    `insert into events (id, type, service_id, payload, status, tries, next_try_at, created_at, updated_at)
     values (@id, @type, @serviceId, @payload, 'pending', 0, @nextTryAt, @createdAt, @createdAt)`,
  );
  // Asked for every event enqueued: one prepared primary-key lookup.
  const serviceWebhook = db
    .select({ url: services.webhookUrl, sealedSecret: services.webhookSecretSealed })
    .from(services)
    .where(eq(services.id, sql.placeholder("id")))
    .prepare();

  return {
    async countPendingEvents() {
      return (countPending.get() as { n: number }).n;
    },
    // Concurrent requests' events share one commit through the store's group commit (group-commit.ts).
    async enqueueEvent(event) {
      insertEvent.run({
        id: event.id,
        type: event.type,
        serviceId: event.serviceId,
        payload: vault.sealText(event.payload, sealedContext.eventPayload(event.id)),
        nextTryAt: event.leaseUntil ?? event.createdAt,
        createdAt: event.createdAt,
      });
    },
    claimDueEvents: atomic(raw, (now: number, limit: number, leaseMs: number) => {
      const due = dueEvents.all(now, limit) as {
        id: string;
        type: string;
        serviceId: string | null;
        payload: string;
        tries: number;
      }[];
      for (const row of due) lease.run(now + leaseMs, now, row.id);
      return due.map((r) => ({
        id: r.id,
        type: r.type as EventType,
        serviceId: r.serviceId,
        payload: vault.openText(r.payload, sealedContext.eventPayload(r.id)),
        tries: r.tries,
      }));
    }),
    async recordEventResults(results, now) {
      if (results.length > 0) recordResults(results, now);
    },
    async listEvents(filter) {
      const where: SQL[] = [];
      if (filter.status) where.push(eq(e.status, filter.status));
      if (filter.serviceId !== undefined) where.push(eq(e.serviceId, filter.serviceId));
      return db
        .select()
        .from(e)
        .where(and(...where))
        .orderBy(desc(e.createdAt), desc(e.id))
        .limit(filter.limit)
        .all()
        .map((r) => toEventEntry(vault, r));
    },
    async requeueEvent(id, serviceId, now) {
      const where = serviceId === undefined ? eq(e.id, id) : and(eq(e.id, id), eq(e.serviceId, serviceId));
      const row = db.update(e).set({ status: "pending", nextTryAt: now, updatedAt: now }).where(where).returning().get();
      return row ? toEventEntry(vault, row) : null;
    },
    async getServiceWebhook(serviceId) {
      return serviceWebhook.get({ id: serviceId }) ?? null;
    },
  };
}
