import { sql } from "drizzle-orm";
import { IDEMPOTENCY_KEY_TTL_MS, type RetentionStore } from "../../core/retention.js";
import { PER_NUMBER_RULES } from "../sqlite/retention.js";
import type { PgDb } from "./open.js";

/** The retention operations of the PostgreSQL Store: each is one transaction. */
export function createPgRetentionOperations(db: PgDb): RetentionStore {
  const count = (r: { rowCount: number | null }) => r.rowCount ?? 0;
  return {
    async purgeBefore(cutoff, now) {
      return db.transaction(async (tx) => {
        const closedBefore = sql`created_at < ${cutoff} and status <> 'pending'`;
        const deliveries = count(
          await tx.execute(
            sql`delete from deliveries where verification_id in (select id from verifications where ${closedBefore})`,
          ),
        );
        const verifications = count(await tx.execute(sql`delete from verifications where ${closedBefore}`));
        // Same boundary as beginIdempotent: a key this old is no longer answered.
        const idempotencyKeys = count(
          await tx.execute(sql`delete from idempotency_keys where created_at <= ${now - IDEMPOTENCY_KEY_TTL_MS}`),
        );
        return { deliveries, verifications, idempotencyKeys };
      });
    },
    async eraseNumber(phone, { includeOptOuts }) {
      return db.transaction(async (tx) => {
        const about = sql`to_number = ${phone} or verified_number = ${phone}`;
        // A stored response names its verification as a JSON string ("ver_…"): match it quoted.
        const idempotencyKeys = count(
          await tx.execute(sql`delete from idempotency_keys k where k.response_body is not null and exists
            (select 1 from verifications v where (${about}) and strpos(k.response_body, '"' || v.id || '"') > 0)`),
        );
        const deliveries = count(
          await tx.execute(sql`delete from deliveries where verification_id in (select id from verifications where ${about})`),
        );
        const verifications = count(await tx.execute(sql`delete from verifications where ${about}`));
        const keys = PER_NUMBER_RULES.map((rule) => `${rule}:${phone}`);
        const rateLimits = count(await tx.execute(sql`delete from rate_limits where key in ${keys}`));
        const optOuts = includeOptOuts ? count(await tx.execute(sql`delete from opt_outs where phone = ${phone}`)) : 0;
        return { verifications, deliveries, idempotencyKeys, rateLimits, optOuts };
      });
    },
  };
}
