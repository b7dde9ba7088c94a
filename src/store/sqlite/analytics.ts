import { eq } from "drizzle-orm";
import type { AnalyticsDimension } from "../../core/model.js";
import type { AnalyticsStore } from "../../core/store/analytics.js";
import { type FunnelSqlRow, toDelivery, toFunnelRow } from "../rows.js";
import type { SqliteStoreContext } from "./context.js";
import { deliveries, verifications } from "./schema.js";

/**
 * The verifications the analytics count: a service's test numbers are left out. This is the one
 * place to narrow them; every query below starts from it. The range is an index search
 * (`EXPLAIN QUERY PLAN`: `SEARCH v USING INDEX verifications_created (created_at>? AND created_at<?)`,
 * or `verifications_service_created (service_id=? AND created_at>? AND created_at<?)` for one service).
 */
export function countedVerifications(serviceFilter: boolean): string {
  return `select v.id, v.created_at, v.approved_at, v.checks, v.country, v.current_step, v.route, v.inbound_channels
    from verifications v
    where v.created_at >= @from and v.created_at < @to and v.test = 0${serviceFilter ? " and v.service_id = @serviceId" : ""}`;
}

/** A delivery a provider accepted, whatever receipt came after (a failed receipt keeps its message id). */
export const ACCEPTED = `(x.status in ('accepted', 'sent', 'delivered', 'read') or x.provider_message_id is not null)`;

/** SQL of each dimension's key, over the `keyed` rows (b: counted verification, d: its delivery summary). */
export const KEY_SQL: Record<AnalyticsDimension, string> = {
  channel: `coalesce(json_extract(b.route, '$[' || b.current_step || '].channel'),
    case when b.inbound_channels is not null then 'inbound' else 'unknown' end)`,
  country: `coalesce(b.country, 'unknown')`,
  provider: `coalesce(d.last_provider, 'none')`,
  day: `strftime('%Y-%m-%d', b.created_at / 1000, 'unixepoch')`,
  step: `cast(b.current_step as text)`,
};

/**
 * Builds the funnel query for the given dimensions. The median is computed in SQL with window
 * functions (the middle row, or the mean of the two middle rows, of the group's sorted
 * durations), so no per-group list of durations leaves the database.
 */
export function funnelSql(groupBy: readonly AnalyticsDimension[], serviceFilter: boolean): string {
  const keys = groupBy.map((dim) => `k_${dim}`);
  const keyList = keys.join(", ");
  return `with base as (${countedVerifications(serviceFilter)}),
  d as (
    select x.verification_id,
      max(${ACCEPTED}) as sent,
      max(x.status in ('delivered', 'read')) as delivered,
      sum(${ACCEPTED}) as messages,
      (select y.provider from deliveries y where y.verification_id = x.verification_id
        order by y.created_at desc, y.rowid desc limit 1) as last_provider
    from base b join deliveries x on x.verification_id = b.id
    group by x.verification_id
  ),
  keyed as (
    select ${groupBy.map((dim) => `${KEY_SQL[dim]} as k_${dim}`).join(", ")},
      coalesce(d.sent, 0) as sent, coalesce(d.delivered, 0) as delivered, coalesce(d.messages, 0) as messages,
      b.checks, b.approved_at, b.approved_at - b.created_at as approve_ms
    from base b left join d on d.verification_id = b.id
  ),
  ranked as (
    select ${keyList}, approve_ms,
      row_number() over (partition by ${keyList} order by approve_ms) as rn,
      count(*) over (partition by ${keyList}) as n
    from keyed where approved_at is not null
  ),
  medians as (
    select ${keyList}, avg(approve_ms) as median_ms from ranked
    where rn in ((n + 1) / 2, (n + 2) / 2) group by ${keyList}
  )
  select ${keys.map((k) => `keyed.${k} as ${k}`).join(", ")},
    count(*) as requested, sum(sent) as sent, sum(delivered) as delivered,
    sum(checks > 0 or approved_at is not null) as checked, sum(approved_at is not null) as approved,
    sum(messages) as messages_sent, medians.median_ms as median_ms
  from keyed left join medians using (${keyList})
  group by ${keys.map((k) => `keyed.${k}`).join(", ")}
  order by ${keys.map((k) => `keyed.${k}`).join(", ")}`;
}

/** The analytics reads of the SQLite Store. */
export function createSqliteAnalyticsStore({ raw, db, toVerification }: SqliteStoreContext): AnalyticsStore {
  const recentIds = raw.prepare("select id from verifications order by created_at desc limit ?");
  const recentIdsOfService = raw.prepare("select id from verifications where service_id = ? order by created_at desc limit ?");

  return {
    async analytics(query) {
      const sql = funnelSql(query.groupBy, query.serviceId !== undefined);
      const params = { from: query.from, to: query.to, ...(query.serviceId !== undefined ? { serviceId: query.serviceId } : {}) };
      const rows = raw.prepare(sql).all(params) as FunnelSqlRow[];
      return rows.map((r) => toFunnelRow(query.groupBy, r));
    },

    async recentVerifications({ serviceId, limit }) {
      const ids = (
        (serviceId === undefined ? recentIds.all(limit) : recentIdsOfService.all(serviceId, limit)) as { id: string }[]
      ).map((r) => r.id);
      const byId = raw.transaction(() =>
        ids.map((id) => {
          const row = db.select().from(verifications).where(eq(verifications.id, id)).get();
          const list = db.select().from(deliveries).where(eq(deliveries.verificationId, id)).orderBy(deliveries.createdAt).all();
          return row ? { verification: toVerification(row), deliveries: list.map(toDelivery) } : null;
        }),
      );
      return byId().filter((r) => r !== null);
    },
  };
}
