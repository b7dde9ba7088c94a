import { type SQL, sql } from "drizzle-orm";
import type pg from "pg";
import type { VerificationStatus } from "../../core/model.js";
import type { NewDelivery } from "../../core/store/deliveries.js";
import { namedRows, type PgExec, rows } from "./open.js";
import { deliveries } from "./schema.js";

/** Writes shared by the verification and delivery operations of the PostgreSQL store. */

/** Inserts a queued delivery (first try, resend or fallback), or one already claimed (`leaseUntil`, see NewDelivery). */
export async function insertDelivery(exec: PgExec, d: NewDelivery, now: number): Promise<void> {
  const claimed = d.leaseUntil !== undefined;
  await exec.insert(deliveries).values({
    ...d,
    status: claimed ? "sending" : "queued",
    tries: claimed ? 1 : 0,
    leaseUntil: d.leaseUntil ?? null,
    createdAt: now,
    updatedAt: now,
  });
}

/**
 * The statement inserting `d` (as `insertDelivery`) once per row of `source`, a CTE or table whose
 * `id` column is its verification's id: no row, no delivery. Part of a larger statement.
 */
export function insertDeliveryFrom(source: SQL, d: NewDelivery, now: number): SQL {
  const claimed = d.leaseUntil !== undefined;
  return sql`insert into deliveries (id, verification_id, step, channel, provider, status, tries, next_try_at, lease_until, created_at, updated_at)
    select ${d.id}::text, s.id, ${d.step}::int, ${d.channel}::text, ${d.provider}::text, ${claimed ? "sending" : "queued"}::text,
      ${claimed ? 1 : 0}::int, ${d.nextTryAt}::bigint, ${d.leaseUntil ?? null}::bigint, ${now}::bigint, ${now}::bigint
    from ${source} s`;
}

/**
 * pending → `status` in one statement: wipes the code and cancels queued deliveries. Of concurrent
 * closers (two correct checks on two instances), the row lock lets exactly one see `pending`.
 */
export async function closeVerification(exec: PgExec, id: string, status: VerificationStatus, now: number): Promise<boolean> {
  const [r] = await rows<{ n: number }>(exec, closeVerificationSql(id, status, now));
  return (r?.n ?? 0) > 0;
}

/** `closeVerification` on the pool, as a named statement (see namedRows). */
export async function closeVerificationNamed(
  pool: pg.Pool,
  id: string,
  status: VerificationStatus,
  now: number,
): Promise<boolean> {
  const [r] = await namedRows<{ n: number }>(pool, closeVerificationSql(id, status, now));
  return (r?.n ?? 0) > 0;
}

function closeVerificationSql(id: string, status: VerificationStatus, now: number): SQL {
  return sql`with closed as (
        update verifications set status = ${status}, updated_at = ${now}, code_hash = null, sealed_code = null,
          approved_at = case when ${status} = 'approved' then ${now}::bigint else approved_at end
        where id = ${id} and status = 'pending' returning id),
      canceled as (
        update deliveries set status = 'canceled', next_try_at = null, updated_at = ${now}
        where verification_id in (select id from closed) and status = 'queued')
      select count(*)::int as n from closed`;
}
