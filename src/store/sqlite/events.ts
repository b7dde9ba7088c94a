import { and, desc, eq, lte, type SQL } from "drizzle-orm";
import type { EventEntry, EventStatus, EventStore, EventType } from "../../core/events.js";
import type { NumberVault } from "../../core/number-vault.js";
import { sealedContext } from "../at-rest.js";
import type { OpenedSqlite } from "./open.js";
import { events, services } from "./schema.js";

type EventRow = typeof events.$inferSelect;

/** An event row as the log lists it, its payload opened. */
const toEntry = (vault: NumberVault, r: EventRow): EventEntry => ({
  id: r.id,
  type: r.type as EventType,
  serviceId: r.serviceId,
  status: r.status as EventStatus,
  tries: r.tries,
  lastError: r.lastError,
  nextTryAt: r.nextTryAt,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  payload: vault.openText(r.payload, sealedContext.eventPayload(r.id)),
});

/**
 * The event-webhook operations of the SQLite Store; the claim is one synchronous transaction.
 * Payloads are sealed at rest and opened when claimed, so the worker signs the exact text enqueued.
 */
export function createSqliteEventOperations({ raw, db }: OpenedSqlite, vault: NumberVault): EventStore {
  const e = events;
  const claim = raw.transaction((now: number, limit: number, leaseMs: number) => {
    const due = db
      .select()
      .from(e)
      .where(and(eq(e.status, "pending"), lte(e.nextTryAt, now)))
      .orderBy(e.nextTryAt, e.createdAt)
      .limit(limit)
      .all();
    for (const row of due) {
      db.update(e)
        .set({ nextTryAt: now + leaseMs, updatedAt: now })
        .where(eq(e.id, row.id))
        .run();
    }
    return due.map((r) => ({
      id: r.id,
      type: r.type as EventType,
      serviceId: r.serviceId,
      payload: vault.openText(r.payload, sealedContext.eventPayload(r.id)),
      tries: r.tries,
    }));
  });

  // Served by the partial index events_due (status = 'pending').
  const countPending = raw.prepare("select count(*) as n from events where status = 'pending'");

  return {
    async countPendingEvents() {
      return (countPending.get() as { n: number }).n;
    },
    async enqueueEvent(event) {
      db.insert(e)
        .values({
          ...event,
          payload: vault.sealText(event.payload, sealedContext.eventPayload(event.id)),
          status: "pending",
          tries: 0,
          nextTryAt: event.createdAt,
          updatedAt: event.createdAt,
        })
        .run();
    },
    async claimDueEvents(now, limit, leaseMs) {
      return claim(now, limit, leaseMs);
    },
    async recordEventResult(result, now) {
      db.update(e)
        .set({
          status: result.status,
          tries: result.tries,
          nextTryAt: result.status === "pending" ? (result.nextTryAt ?? now) : null,
          ...(result.lastError !== undefined ? { lastError: result.lastError } : {}),
          updatedAt: now,
        })
        .where(eq(e.id, result.id))
        .run();
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
        .map((r) => toEntry(vault, r));
    },
    async requeueEvent(id, serviceId, now) {
      const where = serviceId === undefined ? eq(e.id, id) : and(eq(e.id, id), eq(e.serviceId, serviceId));
      const row = db.update(e).set({ status: "pending", nextTryAt: now, updatedAt: now }).where(where).returning().get();
      return row ? toEntry(vault, row) : null;
    },
    async getServiceWebhook(serviceId) {
      const row = db
        .select({ url: services.webhookUrl, sealedSecret: services.webhookSecretSealed })
        .from(services)
        .where(eq(services.id, serviceId))
        .get();
      return row ?? null;
    },
  };
}
