import { and, desc, eq, gt, isNotNull, lte, or, sql } from "drizzle-orm";
import type { Verification } from "../../core/model.js";
import type { InboundApproval, InboundStore } from "../../core/store/inbound.js";
import { sealedContext, storedNumber } from "../at-rest.js";
import { inboundRow } from "../rows.js";
import { atomic } from "./atomic.js";
import type { SqliteStoreContext } from "./context.js";
import { statusIs } from "./literal.js";
import { verifications } from "./schema.js";

/**
 * Person-to-application verifications on SQLite. An inbound verification keeps its expected
 * sender in `to_number` ('' when any sender may answer) and is found by `inbound_code_hash` alone.
 * Numbers are stored as blind indexes with sealed copies, like the sending flow's.
 */
export function createSqliteInboundStore({ raw, db, vault, toVerification }: SqliteStoreContext): InboundStore {
  const v = verifications;

  return {
    createInboundVerification: atomic(raw, (ver: Verification, inboundCodeHash: Buffer): boolean => {
      const now = ver.createdAt;
      const to = storedNumber(vault, ver.to, sealedContext.destination(ver.id));
      // A pending row past its expiry that the sweeper has not closed yet must not block a fresh code.
      db.update(v)
        .set({ status: "expired", codeHash: null, sealedCode: null, updatedAt: now })
        .where(and(eq(v.inboundCodeHash, inboundCodeHash), statusIs(v.status, "pending"), lte(v.expiresAt, now)))
        .run();
      const inserted = db
        .insert(v)
        .values(inboundRow(ver, to, inboundCodeHash))
        .onConflictDoNothing()
        .run();
      return inserted.changes > 0;
    }),
    approveInbound: atomic(raw, (hash: Buffer, from: string, now: number): InboundApproval => {
      const fromIndex = vault.index(from);
      // The id (the sealed number's AAD) is known only once the row is found: seal it in a second update.
      const approved = db
        .update(v)
        .set({ status: "approved", approvedAt: now, updatedAt: now, verifiedNumber: fromIndex, inboundCodeHash: null })
        .where(
          and(
            eq(v.inboundCodeHash, hash),
            statusIs(v.status, "pending"),
            gt(v.expiresAt, now),
            isNotNull(v.inboundChannels),
            or(eq(v.to, ""), eq(v.to, fromIndex)),
          ),
        )
        .returning({ id: v.id })
        .get();
      if (approved) {
        const sealed = vault.seal(from, sealedContext.verifiedNumber(approved.id));
        const row = db.update(v).set({ verifiedNumberSealed: sealed }).where(eq(v.id, approved.id)).returning().get();
        if (row) return { kind: "approved", verification: toVerification(row) };
      }
      // Nothing changed: read why. Approved rows lost their hash, so a reused code reads as unknown.
      const row = db
        .select()
        .from(v)
        .where(and(eq(v.inboundCodeHash, hash), isNotNull(v.inboundChannels)))
        .orderBy(desc(v.createdAt))
        .limit(1)
        .get();
      if (!row) return { kind: "refused", reason: "unknown", verification: null };
      const current = toVerification(row);
      if (row.status === "pending" && row.expiresAt > now)
        return { kind: "refused", reason: "sender_mismatch", verification: current };
      const expired = row.status === "expired" || row.status === "pending";
      return { kind: "refused", reason: expired ? "expired" : "used", verification: current };
    }),
  };
}

/** Keeps inbound rows out of the destination lookups of the sending flow. */
export const notInbound = sql`${verifications.inboundChannels} is null`;
