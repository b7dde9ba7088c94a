import { and, eq, lte } from "drizzle-orm";
import type { EventStore, EventType } from "../../core/events.js";
import type { OpenedSqlite } from "./open.js";
import { events } from "./schema.js";

/** The event-webhook operations of the SQLite Store; the claim is one synchronous transaction. */
export function createSqliteEventOperations({ raw, db }: OpenedSqlite): EventStore {
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
    return due.map((r) => ({ id: r.id, type: r.type as EventType, payload: r.payload, tries: r.tries }));
  });

  // Served by the partial index events_due (status = 'pending').
  const countPending = raw.prepare("select count(*) as n from events where status = 'pending'");

  return {
    async countPendingEvents() {
      return (countPending.get() as { n: number }).n;
    },
    async enqueueEvent(event) {
      db.insert(e)
        .values({ ...event, status: "pending", tries: 0, nextTryAt: event.createdAt, updatedAt: event.createdAt })
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
          updatedAt: now,
        })
        .where(eq(e.id, result.id))
        .run();
    },
  };
}
