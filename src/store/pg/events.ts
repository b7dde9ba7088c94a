import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import type { EventType } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { EventStore } from "../../core/store/events.js";
import { sealedContext } from "../at-rest.js";
import { toEventEntry } from "../rows.js";
import { type OpenedPg, rows } from "./open.js";
import { events, services } from "./schema.js";

/**
 * Event webhooks on PostgreSQL; a claim skips rows another instance is
 * claiming. Payloads are sealed at rest and opened when claimed, so the worker signs the exact text enqueued.
 */
export function createPgEventStore({ db }: OpenedPg, vault: NumberVault): EventStore {
  const e = events;
  // Asked for every event enqueued when no global receiver is set: a named statement, planned once
  // per connection, instead of SQL built and parsed on every emit.
  const serviceWebhook = db
    .select({ url: services.webhookUrl, sealedSecret: services.webhookSecretSealed })
    .from(services)
    .where(eq(services.id, sql.placeholder("id")))
    .prepare("events_service_webhook");
  return {
    async countPendingEvents() {
      // Served by the partial index events_due (status = 'pending').
      const [r] = await rows<{ n: number }>(db, sql`select count(*)::int as n from events where status = 'pending'`);
      return r?.n ?? 0;
    },
    async enqueueEvent(event) {
      const { leaseUntil, ...row } = event;
      await db.insert(e).values({
        ...row,
        payload: vault.sealText(event.payload, sealedContext.eventPayload(event.id)),
        status: "pending",
        tries: 0,
        nextTryAt: leaseUntil ?? event.createdAt,
        updatedAt: event.createdAt,
      });
    },
    async claimDueEvents(now, limit, leaseMs) {
      const due = await rows<{ id: string; type: string; service_id: string | null; payload: string; tries: number }>(
        db,
        sql`with due as (
            select id, next_try_at, created_at from events where status = 'pending' and next_try_at <= ${now}
            order by next_try_at, created_at limit ${limit} for update skip locked),
          claimed as (
            update events e set next_try_at = ${now + leaseMs}, updated_at = ${now}
            from due where e.id = due.id
            returning e.id, e.type, e.service_id, e.payload, e.tries, due.next_try_at as due_at, due.created_at as due_created)
          select id, type, service_id, payload, tries from claimed order by due_at, due_created`,
      );
      return due.map((r) => ({
        id: r.id,
        type: r.type as EventType,
        serviceId: r.service_id,
        payload: vault.openText(r.payload, sealedContext.eventPayload(r.id)),
        tries: r.tries,
      }));
    },
    async recordEventResults(results, now) {
      if (results.length === 0) return;
      // One statement for the batch; a result without `lastError` keeps the stored one.
      const values = results.map(
        (r) =>
          sql`(${r.id}::text, ${r.status}::text, ${r.tries}::int, ${r.status === "pending" ? (r.nextTryAt ?? now) : null}::bigint,
            ${r.lastError ?? null}::text, ${r.lastError === undefined}::boolean)`,
      );
      await db.execute(
        sql`update events e set status = v.status, tries = v.tries, next_try_at = v.next_try_at,
              last_error = case when v.keep_last_error then e.last_error else v.last_error end, updated_at = ${now}
            from (values ${sql.join(values, sql`, `)}) as v(id, status, tries, next_try_at, last_error, keep_last_error)
            where e.id = v.id`,
      );
    },
    async listEvents(filter) {
      const where: SQL[] = [];
      if (filter.status) where.push(eq(e.status, filter.status));
      if (filter.serviceId !== undefined) where.push(eq(e.serviceId, filter.serviceId));
      const list = await db
        .select()
        .from(e)
        .where(and(...where))
        .orderBy(desc(e.createdAt), desc(e.id))
        .limit(filter.limit);
      return list.map((r) => toEventEntry(vault, r));
    },
    async requeueEvent(id, serviceId, now) {
      const where = serviceId === undefined ? eq(e.id, id) : and(eq(e.id, id), eq(e.serviceId, serviceId));
      const [row] = await db.update(e).set({ status: "pending", nextTryAt: now, updatedAt: now }).where(where).returning();
      return row ? toEventEntry(vault, row) : null;
    },
    async getServiceWebhook(serviceId) {
      const [row] = await serviceWebhook.execute({ id: serviceId });
      return row ?? null;
    },
  };
}
