import { IDEMPOTENCY_KEY_TTL_MS } from "../../core/retention.js";
import type { RetentionStore } from "../../core/store/retention.js";
import { perNumberLimitKeys, storedApprovedDestination } from "../at-rest.js";
import { atomic } from "./atomic.js";
import type { SqliteStoreContext } from "./context.js";

/** Retention and erasure on SQLite: each operation is one synchronous transaction. */
export function createSqliteRetentionStore({ raw, vault }: SqliteStoreContext): RetentionStore {
  const closedBefore = "created_at < @cutoff and status <> 'pending'";
  const purgeDeliveries = raw.prepare(
    `delete from deliveries where verification_id in (select id from verifications where ${closedBefore})`,
  );
  const purgeVerifications = raw.prepare(`delete from verifications where ${closedBefore}`);
  // Same boundary as beginIdempotent: a key this old is no longer answered.
  const purgeIdempotency = raw.prepare("delete from idempotency_keys where created_at <= @before");

  const aboutNumber = "to_number = @phone or verified_number = @phone";
  const idsOfNumber = raw.prepare(`select id from verifications where ${aboutNumber}`).pluck();
  // Stored responses are sealed; each row names the verification its answer is about.
  const eraseIdempotency = raw.prepare(
    "delete from idempotency_keys where verification_id in (select value from json_each(@ids))",
  );
  const eraseDeliveries = raw.prepare(
    `delete from deliveries where verification_id in (select id from verifications where ${aboutNumber})`,
  );
  const eraseVerifications = raw.prepare(`delete from verifications where ${aboutNumber}`);
  const eraseRateLimits = raw.prepare("delete from rate_limits where key in (select value from json_each(@keys))");
  const eraseOptOuts = raw.prepare("delete from opt_outs where phone = @phone");
  const eraseApprovalRecord = raw.prepare("delete from conversion_history where scope = @scope and key = @key");

  return {
    purgeBefore: atomic(raw, (cutoff: number, now: number) => ({
      deliveries: purgeDeliveries.run({ cutoff }).changes,
      verifications: purgeVerifications.run({ cutoff }).changes,
      idempotencyKeys: purgeIdempotency.run({ before: now - IDEMPOTENCY_KEY_TTL_MS }).changes,
    })),
    // Numbers are stored as blind indexes: erase by the number's index.
    eraseNumber: atomic(raw, (number: string, { includeOptOuts }: { includeOptOuts: boolean }) => {
      const phone = vault.index(number);
      const ids = idsOfNumber.all({ phone }) as string[];
      const idempotencyKeys = ids.length ? eraseIdempotency.run({ ids: JSON.stringify(ids) }).changes : 0;
      const deliveries = eraseDeliveries.run({ phone }).changes;
      const verifications = eraseVerifications.run({ phone }).changes;
      const keys = JSON.stringify(perNumberLimitKeys(vault, number));
      // The conversion guard's record that the number approved a code counts among its counters.
      const rateLimits =
        eraseRateLimits.run({ keys }).changes + eraseApprovalRecord.run(storedApprovedDestination(vault, number)).changes;
      const optOuts = includeOptOuts ? eraseOptOuts.run({ phone }).changes : 0;
      return { verifications, deliveries, idempotencyKeys, rateLimits, optOuts };
    }),
  };
}
