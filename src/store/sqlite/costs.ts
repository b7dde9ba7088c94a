import type { Channel } from "../../core/model.js";
import type { PriceTable, PriceVersion } from "../../core/prices.js";
import type { AttemptCountRow, CostStore, StepAttemptRow, StepStatRow } from "../../core/store/costs.js";
import { ACCEPTED, countedVerifications, KEY_SQL } from "./analytics.js";
import { atomic } from "./atomic.js";
import type { SqliteStoreContext } from "./context.js";

/** The price version in force when attempt `x` was created (null before the first table). */
const VERSION_AT = `(select max(p.version) from price_tables p where p.valid_from <= x.created_at)`;
const DELIVERED = `(x.status in ('delivered', 'read'))`;
/** A step of the verification's own route: its channel and first provider. */
const STEP_CHANNEL = `json_extract(b.route, '$[' || x.step || '].channel')`;
const STEP_PROVIDER = `json_extract(b.route, '$[' || x.step || '].providers[0]')`;

type Counted = { accepted: number; delivered: number; price_version: number | null; provider: string; channel: Channel };

/** Price table versions, and the attempt counts cost analytics and learned routes price (reads, but one registration). */
export function createSqliteCostStore({ raw }: SqliteStoreContext): CostStore {
  const latest = raw.prepare("select version, fingerprint from price_tables order by version desc limit 1");
  const insert = raw.prepare(
    "insert into price_tables (version, fingerprint, valid_from, document) values (@version, @fingerprint, @validFrom, @document)",
  );
  const all = raw.prepare("select version, valid_from, document from price_tables order by version");
  const stepBase = `select v.id, v.route, v.current_step, v.approved_at from verifications v
    where v.service_id = @serviceId and v.created_at >= @from and v.created_at < @to and v.test = 0 and v.country is @country`;
  const steps = raw.prepare(`with base as (${stepBase}),
    tried as (
      select distinct b.id, x.step, ${STEP_CHANNEL} as channel, ${STEP_PROVIDER} as provider,
        (b.approved_at is not null and b.current_step = x.step) as approved
      from base b join deliveries x on x.verification_id = b.id
    )
    select channel, provider, count(*) as tried, sum(approved) as approved from tried
    where channel is not null group by channel, provider order by channel, provider`);
  const stepAttempts = raw.prepare(`with base as (${stepBase})
    select ${STEP_CHANNEL} as step_channel, ${STEP_PROVIDER} as step_provider, x.provider, x.channel,
      ${VERSION_AT} as price_version, sum(${ACCEPTED}) as accepted, sum(${DELIVERED}) as delivered
    from base b join deliveries x on x.verification_id = b.id
    group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`);

  return {
    registerPriceTable: atomic(raw, (table: PriceTable, fingerprint: string, now: number) => {
      const last = latest.get() as { version: number; fingerprint: string } | undefined;
      if (last?.fingerprint === fingerprint) return last.version;
      const version = (last?.version ?? 0) + 1;
      insert.run({ version, fingerprint, validFrom: now, document: JSON.stringify(table) });
      return version;
    }),

    async listPriceVersions() {
      return (all.all() as { version: number; valid_from: number; document: string }[]).map(
        (r): PriceVersion => ({ version: r.version, validFrom: r.valid_from, table: JSON.parse(r.document) as PriceTable }),
      );
    },

    async attemptCounts(query) {
      const keys = query.groupBy.map((dim) => `${KEY_SQL[dim]} as k_${dim}`).join(", ");
      const sql = `with base as (${countedVerifications(query.serviceId !== undefined)}),
        d as (select b.id, (select y.provider from deliveries y where y.verification_id = b.id
          order by y.created_at desc, y.rowid desc limit 1) as last_provider from base b)
        select ${keys}, x.provider, x.channel, b.country, ${VERSION_AT} as price_version,
          sum(${ACCEPTED}) as accepted, sum(${DELIVERED}) as delivered
        from base b join deliveries x on x.verification_id = b.id join d on d.id = b.id
        group by ${query.groupBy.map((_, i) => i + 1).join(", ")}, ${[2, 3, 4, 5].map((i) => query.groupBy.length + i - 1).join(", ")}`;
      const params = { from: query.from, to: query.to, ...(query.serviceId !== undefined ? { serviceId: query.serviceId } : {}) };
      const rows = raw.prepare(sql).all(params) as (Counted & { country: string | null } & Record<string, unknown>)[];
      return rows.map(
        (r): AttemptCountRow => ({
          key: Object.fromEntries(query.groupBy.map((dim) => [dim, String(r[`k_${dim}`])])),
          provider: r.provider,
          channel: r.channel,
          country: r.country,
          priceVersion: r.price_version,
          accepted: Number(r.accepted),
          delivered: Number(r.delivered),
        }),
      );
    },

    async stepStats(query) {
      const params = { ...query };
      const stepRows = steps.all(params) as StepStatRow[];
      const attemptRows = stepAttempts.all(params) as (Counted & { step_channel: Channel; step_provider: string })[];
      return {
        steps: stepRows.map((r) => ({ ...r, tried: Number(r.tried), approved: Number(r.approved) })),
        attempts: attemptRows
          .filter((r) => r.step_channel !== null)
          .map(
            (r): StepAttemptRow => ({
              stepChannel: r.step_channel,
              stepProvider: r.step_provider,
              provider: r.provider,
              channel: r.channel,
              priceVersion: r.price_version,
              accepted: Number(r.accepted),
              delivered: Number(r.delivered),
            }),
          ),
      };
    },
  };
}
