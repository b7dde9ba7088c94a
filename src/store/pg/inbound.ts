import { and, desc, eq, gt, isNotNull, lte, or, sql } from "drizzle-orm";
import type { NumberVault } from "../../core/number-vault.js";
import type { InboundApproval, InboundStore } from "../../core/store/inbound.js";
import { sealedContext, storedNumber } from "../at-rest.js";
import { inboundRow, toVerification } from "../rows.js";
import type { OpenedPg } from "./open.js";
import { verifications } from "./schema.js";

/**
 * Person-to-application verifications on PostgreSQL (same layout as SQLite's: the
 * expected sender's blind index in `to_number`, '' for any, with its sealed copy; found by `inbound_code_hash`).
 */
export function createPgInboundStore({ db }: OpenedPg, vault: NumberVault): InboundStore {
  const v = verifications;
  const toVer = (r: typeof v.$inferSelect) => toVerification(r, vault);
  return {
    async createInboundVerification(ver, inboundCodeHash) {
      return db.transaction(async (tx) => {
        const now = ver.createdAt;
        const to = storedNumber(vault, ver.to, sealedContext.destination(ver.id));
        // A pending row past its expiry that the sweeper has not closed yet must not block a fresh code.
        await tx
          .update(v)
          .set({ status: "expired", codeHash: null, sealedCode: null, updatedAt: now })
          .where(and(eq(v.inboundCodeHash, inboundCodeHash), eq(v.status, "pending"), lte(v.expiresAt, now)));
        const inserted = await tx
          .insert(v)
          .values(inboundRow(ver, to, inboundCodeHash))
          .onConflictDoNothing()
          .returning({ id: v.id });
        return inserted.length > 0;
      });
    },
    async approveInbound(hash, from, now): Promise<InboundApproval> {
      const fromIndex = vault.index(from);
      // The id (the sealed number's AAD) is known only once the row is found: seal it in a second
      // update, in the same transaction (the first one's row lock holds until both are done).
      const approved = await db.transaction(async (tx) => {
        const [row] = await tx
          .update(v)
          .set({ status: "approved", approvedAt: now, updatedAt: now, verifiedNumber: fromIndex, inboundCodeHash: null })
          .where(
            and(
              eq(v.inboundCodeHash, hash),
              eq(v.status, "pending"),
              gt(v.expiresAt, now),
              isNotNull(v.inboundChannels),
              or(eq(v.to, ""), eq(v.to, fromIndex)),
            ),
          )
          .returning({ id: v.id });
        if (!row) return null;
        const sealed = vault.seal(from, sealedContext.verifiedNumber(row.id));
        const [updated] = await tx.update(v).set({ verifiedNumberSealed: sealed }).where(eq(v.id, row.id)).returning();
        return updated ?? null;
      });
      if (approved) return { kind: "approved", verification: toVer(approved) };
      // Nothing changed: read why. Approved rows lost their hash, so a reused code reads as unknown.
      const [row] = await db
        .select()
        .from(v)
        .where(and(eq(v.inboundCodeHash, hash), isNotNull(v.inboundChannels)))
        .orderBy(desc(v.createdAt))
        .limit(1);
      if (!row) return { kind: "refused", reason: "unknown", verification: null };
      const current = toVer(row);
      if (row.status === "pending" && row.expiresAt > now)
        return { kind: "refused", reason: "sender_mismatch", verification: current };
      const expired = row.status === "expired" || row.status === "pending";
      return { kind: "refused", reason: expired ? "expired" : "used", verification: current };
    },
  };
}

/** Keeps inbound rows out of the destination lookups of the sending flow. */
export const notInbound = sql`${verifications.inboundChannels} is null`;
