import { and, eq, lte } from "drizzle-orm";
import type { EventStore, EventType } from "../../core/events.js";
import type { NumberVault } from "../../core/number-vault.js";
import { sealedContext } from "../at-rest.js";
import type { OpenedSqlite } from "./open.js";
import { events } from "./schema.js";

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
      payload: vault.openText(r.payload, sealedContext.eventPayload(r.id)),
      tries: r.tries,
    }));
  });

  return {
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
          updatedAt: now,
        })
        .where(eq(e.id, result.id))
        .run();
    },
  };
}
