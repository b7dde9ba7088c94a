import { and, desc, eq, gt, gte, isNull, lt, or, sql } from "drizzle-orm";
import type { NumberVault } from "../../core/number-vault.js";
import type { ConversionStore } from "../../core/store/conversion.js";
import { sealedContext, storedConversionKey } from "../at-rest.js";
import { toBlock } from "../rows.js";
import type { OpenedPg } from "./open.js";
import { abuseBlocks, conversionCounts } from "./schema.js";

/**
 * The conversion guard's counters and blocks on PostgreSQL, shared by every instance. Counters are
 * incremented in SQL (an upsert), never read and written back; opening a block takes a transaction
 * lock on its scope and key, so two instances tripping together open one block.
 * Prefixes and email domains are keyed by blind index (docs/security.md, Data at rest); a block keeps its key sealed for the admin listing.
 */
export function createPgConversionStore({ db }: OpenedPg, vault: NumberVault): ConversionStore {
  const stored = (k: { scope: string; key: string }) => ({ scope: k.scope, key: storedConversionKey(vault, k.scope, k.key) });
  const c = conversionCounts;
  const b = abuseBlocks;
  const active = (now: number) => and(isNull(b.liftedAt), gt(b.expiresAt, now));

  return {
    async countConversion(keys, bucketStart, field) {
      if (keys.length === 0) return;
      // One row per distinct key (an upsert may not touch a row twice), carrying how often it was named.
      const times = new Map<string, { scope: string; key: string; n: number }>();
      for (const k of keys.map(stored)) {
        const id = `${k.scope}\u0000${k.key}`;
        const seen = times.get(id);
        if (seen) seen.n++;
        else times.set(id, { ...k, n: 1 });
      }
      const values = [...times.values()].map((k) => ({
        scope: k.scope,
        key: k.key,
        bucketStart,
        sends: field === "sends" ? k.n : 0,
        approvals: field === "approvals" ? k.n : 0,
      }));
      await db
        .insert(c)
        .values(values)
        .onConflictDoUpdate({
          target: [c.scope, c.key, c.bucketStart],
          set:
            field === "sends"
              ? { sends: sql`${c.sends} + excluded.sends` }
              : { approvals: sql`${c.approvals} + excluded.approvals` },
        });
    },
    async conversionTotals(keys, from, to) {
      return Promise.all(
        keys.map(async (k) => {
          const key = stored(k);
          const [row] = await db
            .select({
              sends: sql<string>`coalesce(sum(${c.sends}), 0)`,
              approvals: sql<string>`coalesce(sum(${c.approvals}), 0)`,
            })
            .from(c)
            .where(and(eq(c.scope, key.scope), eq(c.key, key.key), gte(c.bucketStart, from), lt(c.bucketStart, to)));
          return { sends: Number(row?.sends ?? 0), approvals: Number(row?.approvals ?? 0) };
        }),
      );
    },
    async openAbuseBlock(block, now) {
      const key = stored(block).key;
      return db.transaction(async (tx) => {
        // Serialises openers of the same scope and key across instances until this transaction ends.
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`abuse_blocks:${block.scope}:${key}`}))`);
        const [existing] = await tx
          .select()
          .from(b)
          .where(and(eq(b.scope, block.scope), eq(b.key, key), active(now)));
        if (existing) return { block: toBlock(vault, existing), created: false };
        const keySealed = block.scope !== "country" ? vault.sealText(block.key, sealedContext.abuseBlockKey(block.id)) : null;
        await tx.insert(b).values({ ...block, key, keySealed });
        return { block, created: true };
      });
    },
    async listActiveAbuseBlocks(now) {
      const list = await db.select().from(b).where(active(now)).orderBy(desc(b.createdAt), b.id);
      return list.map((r) => toBlock(vault, r));
    },
    async liftAbuseBlock(id, now) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(b)
          .set({ liftedAt: now })
          .where(and(eq(b.id, id), active(now)))
          .returning();
        if (!row) return null;
        await tx.delete(c).where(and(eq(c.scope, row.scope), eq(c.key, row.key)));
        return toBlock(vault, row);
      });
    },
    async purgeConversion(countsBefore, blocksBefore) {
      await db.transaction(async (tx) => {
        await tx.delete(c).where(lt(c.bucketStart, countsBefore));
        await tx.delete(b).where(or(lt(b.expiresAt, blocksBefore), lt(b.liftedAt, blocksBefore)));
      });
    },
  };
}
