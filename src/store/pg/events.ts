import { eq, sql } from "drizzle-orm";
import type { EventStore, EventType } from "../../core/events.js";
import { type PgDb, rows } from "./open.js";
import { events } from "./schema.js";

/** The event-webhook operations of the PostgreSQL Store; a claim skips rows another instance is claiming. */
export function createPgEventOperations(db: PgDb): EventStore {
  const e = events;
  return {
    async enqueueEvent(event) {
      await db
        .insert(e)
        .values({ ...event, status: "pending", tries: 0, nextTryAt: event.createdAt, updatedAt: event.createdAt });
    },
    async claimDueEvents(now, limit, leaseMs) {
      const due = await rows<{ id: string; type: string; payload: string; tries: number }>(
        db,
        sql`with due as (
            select id, next_try_at, created_at from events where status = 'pending' and next_try_at <= ${now}
            order by next_try_at, created_at limit ${limit} for update skip locked),
          claimed as (
            update events e set next_try_at = ${now + leaseMs}, updated_at = ${now}
            from due where e.id = due.id
            returning e.id, e.type, e.payload, e.tries, due.next_try_at as due_at, due.created_at as due_created)
          select id, type, payload, tries from claimed order by due_at, due_created`,
      );
      return due.map((r) => ({ id: r.id, type: r.type as EventType, payload: r.payload, tries: r.tries }));
    },
    async recordEventResult(result, now) {
      await db
        .update(e)
        .set({
          status: result.status,
          tries: result.tries,
          nextTryAt: result.status === "pending" ? (result.nextTryAt ?? now) : null,
          updatedAt: now,
        })
        .where(eq(e.id, result.id));
    },
  };
}
