import { and, eq, lte } from "drizzle-orm";
import type { NumberVault } from "../../core/number-vault.js";
import { IDEMPOTENCY_KEY_TTL_MS } from "../../core/retention.js";
import type { IdempotencyStore } from "../../core/store/idempotency.js";
import { answeredVerificationId, sealedContext } from "../at-rest.js";
import type { OpenedPg } from "./open.js";
import { idempotencyKeys } from "./schema.js";

const fingerprintContext = sealedContext.idempotentFingerprint;

/** Idempotency keys on PostgreSQL: fingerprints and stored answers are sealed (they may name the number). */
export function createPgIdempotencyStore({ db }: OpenedPg, vault: NumberVault): IdempotencyStore {
  return {
    async beginIdempotent(serviceId, key, fingerprint, now) {
      const where = and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key));
      return db.transaction(async (tx) => {
        await tx.delete(idempotencyKeys).where(and(where, lte(idempotencyKeys.createdAt, now - IDEMPOTENCY_KEY_TTL_MS)));
        // A concurrent insert of the same key makes this one wait for it, then do nothing.
        const inserted = await tx
          .insert(idempotencyKeys)
          .values({
            serviceId,
            key,
            fingerprint: vault.sealText(fingerprint, fingerprintContext(serviceId, key)),
            createdAt: now,
          })
          .onConflictDoNothing()
          .returning({ key: idempotencyKeys.key });
        if (inserted.length) return { kind: "new" as const };
        const [row] = await tx.select().from(idempotencyKeys).where(where);
        // Fingerprints are digests of the caller's own request: equality needs no constant time.
        if (!row || vault.openText(row.fingerprint, fingerprintContext(serviceId, key)) !== fingerprint)
          return { kind: "mismatch" as const };
        if (row.responseStatus === null || row.responseBody === null) return { kind: "in_flight" as const };
        const body = vault.openText(row.responseBody, sealedContext.idempotentBody(serviceId, key));
        return { kind: "replay" as const, status: row.responseStatus, body };
      });
    },
    async finishIdempotent(serviceId, key, status, body) {
      await db
        .update(idempotencyKeys)
        .set({
          responseStatus: status,
          responseBody: vault.sealText(body, sealedContext.idempotentBody(serviceId, key)),
          verificationId: answeredVerificationId(body),
        })
        .where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)));
    },
    async abandonIdempotent(serviceId, key) {
      await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)));
    },
  };
}
