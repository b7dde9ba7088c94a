import { type SQL, sql } from "drizzle-orm";
import type { Channel } from "../../core/model.js";
import type { PriceTable, PriceVersion } from "../../core/prices.js";
import type { AttemptCountRow, CostStore, StepStatsQuery } from "../../core/store/costs.js";
import { ACCEPTED, KEY_SQL } from "./analytics.js";
import { type OpenedPg, rows } from "./open.js";

/** The price version in force when attempt `x` was created (null before the first table). */
const VERSION_AT = sql.raw(`(select max(p.version) from price_tables p where p.valid_from <= x.created_at)`);
const DELIVERED = sql.raw(`(x.status in ('delivered', 'read'))`);
const STEP_CHANNEL = sql.raw(`(b.route -> x.step ->> 'channel')`);
const STEP_PROVIDER = sql.raw(`(b.route -> x.step -> 'providers' ->> 0)`);

type Counted = {
  accepted: string;
  delivered: string;
  price_version: number | null;
  provider: string;
  channel: Channel;
};

function stepBase(q: StepStatsQuery): SQL {
  return sql`select v.id, v.route, v.current_step, v.approved_at from verifications v
    where v.service_id = ${q.serviceId} and v.created_at >= ${q.from} and v.created_at < ${q.to} and not v.test
      and v.country is not distinct from ${q.country}`;
}

/** The SQLite cost store's reads (store/sqlite/costs.ts) in PostgreSQL's terms. */
export function createPgCostStore({ db }: OpenedPg): CostStore {
  return {
    async registerPriceTable(table: PriceTable, fingerprint: string, now: number) {
      // One statement: a new version only when the newest differs; a racing instance's insert loses on the key.
      await db.execute(sql`insert into price_tables (version, fingerprint, valid_from, document)
        select coalesce(max(version), 0) + 1, ${fingerprint}, ${now}, ${JSON.stringify(table)}::jsonb from price_tables
        having coalesce((select fingerprint from price_tables order by version desc limit 1), '') <> ${fingerprint}
        on conflict (version) do nothing`);
      const [last] = await rows<{ version: number }>(db, sql`select version from price_tables order by version desc limit 1`);
      return Number(last?.version ?? 0);
    },

    async listPriceVersions() {
      const list = await rows<{ version: number; valid_from: string; document: PriceTable }>(
        db,
        sql`select version, valid_from, document from price_tables order by version`,
      );
      return list.map((r): PriceVersion => ({ version: r.version, validFrom: Number(r.valid_from), table: r.document }));
    },

    async attemptCounts(query) {
      const n = query.groupBy.length;
      const keys = sql.raw(query.groupBy.map((dim) => `${KEY_SQL[dim]} as k_${dim}`).join(", "));
      const groups = sql.raw([...query.groupBy.map((_, i) => i + 1), n + 1, n + 2, n + 3, n + 4].join(", "));
      const ofService = query.serviceId !== undefined ? sql` and v.service_id = ${query.serviceId}` : sql``;
      const list = await rows<Counted & { country: string | null } & Record<string, unknown>>(
        db,
        sql`with base as (
            select v.id, v.created_at, v.approved_at, v.checks, v.country, v.current_step, v.route, v.inbound_channels
            from verifications v
            where v.created_at >= ${query.from} and v.created_at < ${query.to} and not v.test${ofService}
          ),
          d as (
            select b.id, (select y.provider from deliveries y where y.verification_id = b.id
              order by y.created_at desc, y.step desc, y.id desc limit 1) as last_provider from base b
          )
          select ${keys}, x.provider, x.channel, b.country, ${VERSION_AT} as price_version,
            count(*) filter (where ${ACCEPTED}) as accepted, count(*) filter (where ${DELIVERED}) as delivered
          from base b join deliveries x on x.verification_id = b.id join d on d.id = b.id
          group by ${groups}`,
      );
      return list.map(
        (r): AttemptCountRow => ({
          key: Object.fromEntries(query.groupBy.map((dim) => [dim, String(r[`k_${dim}`])])),
          provider: r.provider,
          channel: r.channel,
          country: r.country,
          priceVersion: r.price_version === null ? null : Number(r.price_version),
          accepted: Number(r.accepted),
          delivered: Number(r.delivered),
        }),
      );
    },

    async stepStats(query) {
      const steps = await rows<{ channel: Channel; provider: string; tried: string; approved: string }>(
        db,
        sql`with base as (${stepBase(query)}),
          tried as (
            select distinct b.id, x.step, ${STEP_CHANNEL} as channel, ${STEP_PROVIDER} as provider,
              (b.approved_at is not null and b.current_step = x.step) as approved
            from base b join deliveries x on x.verification_id = b.id
          )
          select channel, provider, count(*) as tried, count(*) filter (where approved) as approved from tried
          where channel is not null group by channel, provider order by channel, provider`,
      );
      const attempts = await rows<Counted & { step_channel: Channel | null; step_provider: string }>(
        db,
        sql`with base as (${stepBase(query)})
          select ${STEP_CHANNEL} as step_channel, ${STEP_PROVIDER} as step_provider, x.provider, x.channel,
            ${VERSION_AT} as price_version,
            count(*) filter (where ${ACCEPTED}) as accepted, count(*) filter (where ${DELIVERED}) as delivered
          from base b join deliveries x on x.verification_id = b.id
          group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`,
      );
      return {
        steps: steps.map((r) => ({
          channel: r.channel,
          provider: r.provider,
          tried: Number(r.tried),
          approved: Number(r.approved),
        })),
        attempts: attempts.flatMap((r) =>
          r.step_channel === null
            ? []
            : [
                {
                  stepChannel: r.step_channel,
                  stepProvider: r.step_provider,
                  provider: r.provider,
                  channel: r.channel,
                  priceVersion: r.price_version === null ? null : Number(r.price_version),
                  accepted: Number(r.accepted),
                  delivered: Number(r.delivered),
                },
              ],
        ),
      };
    },
  };
}
