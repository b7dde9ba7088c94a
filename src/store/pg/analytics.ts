import { asc, inArray, type SQL, sql } from "drizzle-orm";
import type { AnalyticsDimension } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { AnalyticsStore } from "../../core/store/analytics.js";
import { type FunnelSqlRow, toDelivery, toFunnelRow, toVerification } from "../rows.js";
import { type OpenedPg, rows } from "./open.js";
import { deliveries, verifications } from "./schema.js";

/** A delivery a provider accepted, whatever receipt came after (a failed receipt keeps its message id). */
export const ACCEPTED = sql.raw(`(x.status in ('accepted', 'sent', 'delivered', 'read') or x.provider_message_id is not null)`);

/** SQL of each dimension's key, over the `keyed` rows (b: counted verification, d: its delivery summary). */
export const KEY_SQL: Record<AnalyticsDimension, string> = {
  channel: `coalesce(b.route -> b.current_step ->> 'channel',
    case when b.inbound_channels is not null then 'inbound' else 'unknown' end)`,
  country: `coalesce(b.country, 'unknown')`,
  provider: `coalesce(d.last_provider, 'none')`,
  day: `to_char(to_timestamp(b.created_at / 1000) at time zone 'UTC', 'YYYY-MM-DD')`,
  step: `b.current_step::text`,
};

/**
 * The funnel query, the same as SQLite's (store/sqlite/analytics.ts) in PostgreSQL's terms: the
 * median is `percentile_cont(0.5)` (the mean of the two middle values for an even count, as there),
 * computed in the database so no per-group list of durations leaves it.
 */
export function pgFunnelSql(query: {
  from: number;
  to: number;
  serviceId?: string;
  groupBy: readonly AnalyticsDimension[];
}): SQL {
  const keys = query.groupBy.map((dim) => `k_${dim}`).join(", ");
  const keyed = query.groupBy.map((dim) => `${KEY_SQL[dim]} as k_${dim}`).join(", ");
  const ofService = query.serviceId !== undefined ? sql` and v.service_id = ${query.serviceId}` : sql``;
  return sql`with base as (
      select v.id, v.created_at, v.approved_at, v.checks, v.country, v.current_step, v.route, v.inbound_channels
      from verifications v
      where v.created_at >= ${query.from} and v.created_at < ${query.to} and not v.test${ofService}
    ),
    d as (
      select x.verification_id,
        bool_or(${ACCEPTED})::int as sent,
        bool_or(x.status in ('delivered', 'read'))::int as delivered,
        count(*) filter (where ${ACCEPTED}) as messages,
        (array_agg(x.provider order by x.created_at desc, x.step desc, x.id desc))[1] as last_provider
      from base b join deliveries x on x.verification_id = b.id
      group by x.verification_id
    ),
    keyed as (
      select ${sql.raw(keyed)},
        coalesce(d.sent, 0) as sent, coalesce(d.delivered, 0) as delivered, coalesce(d.messages, 0) as messages,
        b.checks, b.approved_at, b.approved_at - b.created_at as approve_ms
      from base b left join d on d.verification_id = b.id
    )
    select ${sql.raw(keys)},
      count(*) as requested, sum(sent) as sent, sum(delivered) as delivered,
      count(*) filter (where checks > 0 or approved_at is not null) as checked, count(approved_at) as approved,
      sum(messages) as messages_sent, percentile_cont(0.5) within group (order by approve_ms) as median_ms
    from keyed
    group by ${sql.raw(keys)}
    order by ${sql.raw(keys)}`;
}

/** The analytics reads on PostgreSQL (counts arrive as bigint text: converted here). */
export function createPgAnalyticsStore({ db }: OpenedPg, vault: NumberVault): AnalyticsStore {
  return {
    async analytics(query) {
      const list = await rows<FunnelSqlRow>(db, pgFunnelSql(query));
      return list.map((r) => toFunnelRow(query.groupBy, r));
    },

    async recentVerifications({ serviceId, limit }) {
      // One snapshot for both reads, so a verification and its deliveries agree.
      return db.transaction(
        async (tx) => {
          const list = await tx
            .select()
            .from(verifications)
            .where(serviceId === undefined ? undefined : sql`${verifications.serviceId} = ${serviceId}`)
            .orderBy(sql`${verifications.createdAt} desc`)
            .limit(limit);
          if (!list.length) return [];
          const sent = await tx
            .select()
            .from(deliveries)
            .where(
              inArray(
                deliveries.verificationId,
                list.map((r) => r.id),
              ),
            )
            .orderBy(asc(deliveries.createdAt));
          return list.map((row) => ({
            verification: toVerification(row, vault),
            deliveries: sent.filter((d) => d.verificationId === row.id).map(toDelivery),
          }));
        },
        { isolationLevel: "repeatable read", accessMode: "read only" },
      );
    },
  };
}
