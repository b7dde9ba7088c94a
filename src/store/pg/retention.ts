import { sql } from "drizzle-orm";
import type { NumberVault } from "../../core/number-vault.js";
import { IDEMPOTENCY_KEY_TTL_MS } from "../../core/retention.js";
import type { RetentionStore } from "../../core/store/retention.js";
import { perNumberLimitKeys, storedApprovedDestination } from "../at-rest.js";
import type { OpenedPg } from "./open.js";

/** Retention and erasure on PostgreSQL: each operation is one transaction. */
export function createPgRetentionStore({ db }: OpenedPg, vault: NumberVault): RetentionStore {
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
    async eraseNumber(number, { includeOptOuts }) {
      // Numbers are stored as blind indexes: erase by the number's index.
      const phone = vault.index(number);
      return db.transaction(async (tx) => {
        const about = sql`to_number = ${phone} or verified_number = ${phone}`;
        // Stored responses are sealed; each row names the verification its answer is about.
        const idempotencyKeys = count(
          await tx.execute(
            sql`delete from idempotency_keys where verification_id in (select id from verifications where ${about})`,
          ),
        );
        const deliveries = count(
          await tx.execute(sql`delete from deliveries where verification_id in (select id from verifications where ${about})`),
        );
        const verifications = count(await tx.execute(sql`delete from verifications where ${about}`));
        const keys = perNumberLimitKeys(vault, number);
        const record = storedApprovedDestination(vault, number);
        // The conversion guard's record that the number approved a code counts among its counters.
        const rateLimits =
          count(await tx.execute(sql`delete from rate_limits where key in ${keys}`)) +
          count(await tx.execute(sql`delete from conversion_history where scope = ${record.scope} and key = ${record.key}`));
        const optOuts = includeOptOuts ? count(await tx.execute(sql`delete from opt_outs where phone = ${phone}`)) : 0;
        return { verifications, deliveries, idempotencyKeys, rateLimits, optOuts };
      });
    },
  };
}
