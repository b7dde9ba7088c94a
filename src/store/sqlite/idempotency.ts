import { and, eq, lte } from "drizzle-orm";
import { IDEMPOTENCY_KEY_TTL_MS } from "../../core/retention.js";
import type { IdempotencyStore } from "../../core/store/idempotency.js";
import { answeredVerificationId, sealedContext } from "../at-rest.js";
import { atomic } from "./atomic.js";
import type { SqliteStoreContext } from "./context.js";
import { idempotencyKeys } from "./schema.js";

const fingerprintContext = sealedContext.idempotentFingerprint;

/** Idempotency keys on SQLite: fingerprints and stored answers are sealed (they may name the number). */
export function createSqliteIdempotencyStore({ raw, db, vault }: SqliteStoreContext): IdempotencyStore {
  return {
    beginIdempotent: atomic(raw, (serviceId: string, key: string, fingerprint: string, now: number) => {
      const where = and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key));
      db.delete(idempotencyKeys)
        .where(and(where, lte(idempotencyKeys.createdAt, now - IDEMPOTENCY_KEY_TTL_MS)))
        .run();
      const inserted = db
        .insert(idempotencyKeys)
        .values({
          serviceId,
          key,
          fingerprint: vault.sealText(fingerprint, fingerprintContext(serviceId, key)),
          createdAt: now,
        })
        .onConflictDoNothing()
        .run().changes;
      if (inserted) return { kind: "new" as const };
      const row = db.select().from(idempotencyKeys).where(where).get();
      // Fingerprints are digests of the caller's own request: equality needs no constant time.
      if (!row || vault.openText(row.fingerprint, fingerprintContext(serviceId, key)) !== fingerprint)
        return { kind: "mismatch" as const };
      if (row.responseStatus === null || row.responseBody === null) return { kind: "in_flight" as const };
      const body = vault.openText(row.responseBody, sealedContext.idempotentBody(serviceId, key));
      return { kind: "replay" as const, status: row.responseStatus, body };
    }),
    async finishIdempotent(serviceId, key, status, body) {
      db.update(idempotencyKeys)
        .set({
          responseStatus: status,
          responseBody: vault.sealText(body, sealedContext.idempotentBody(serviceId, key)),
          verificationId: answeredVerificationId(body),
        })
        .where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)))
        .run();
    },
    async abandonIdempotent(serviceId, key) {
      db.delete(idempotencyKeys)
        .where(and(eq(idempotencyKeys.serviceId, serviceId), eq(idempotencyKeys.key, key)))
        .run();
    },
  };
}
