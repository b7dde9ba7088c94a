import { and, desc, eq, gt, gte, isNull, lt, or, sql } from "drizzle-orm";
import type { AbuseBlock } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { ConversionStore } from "../../core/store/conversion.js";
import { sealedContext, storedConversionKey } from "../at-rest.js";
import { toBlock } from "../rows.js";
import { atomic } from "./atomic.js";
import type { OpenedSqlite } from "./open.js";
import { abuseBlocks, conversionCounts } from "./schema.js";

/**
 * The conversion guard's counters and blocks on SQLite; each operation is one synchronous transaction.
 * store/backends.ts (`sqliteStores`) joins it to the connection's group commit, beside the Store.
 * Prefixes and email domains are keyed by blind index (docs/security.md, Data at rest); a block keeps its key sealed for the admin listing.
 */
export function createSqliteConversionStore({ raw, db }: OpenedSqlite, vault: NumberVault): ConversionStore {
  const stored = (k: { scope: string; key: string }) => ({ scope: k.scope, key: storedConversionKey(vault, k.scope, k.key) });
  const c = conversionCounts;
  const b = abuseBlocks;
  const p = (name: string) => sql.placeholder(name);
  const active = (now: number) => and(isNull(b.liftedAt), gt(b.expiresAt, now));

  // One upsert per key: the counter is incremented in SQL, never read and written back.
  const bump = {
    sends: raw.prepare(
      `insert into conversion_counts (scope, key, bucket_start, sends) values (?, ?, ?, 1)
       on conflict (scope, key, bucket_start) do update set sends = sends + 1`,
    ),
    approvals: raw.prepare(
      `insert into conversion_counts (scope, key, bucket_start, approvals) values (?, ?, ?, 1)
       on conflict (scope, key, bucket_start) do update set approvals = approvals + 1`,
    ),
  };
  const totals = db
    .select({ sends: sql<number>`coalesce(sum(${c.sends}), 0)`, approvals: sql<number>`coalesce(sum(${c.approvals}), 0)` })
    .from(c)
    .where(and(eq(c.scope, p("scope")), eq(c.key, p("key")), gte(c.bucketStart, p("from")), lt(c.bucketStart, p("to"))))
    .prepare();

  const countTx = raw.transaction((keys: { scope: string; key: string }[], bucketStart: number, field: "sends" | "approvals") => {
    for (const k of keys.map(stored)) bump[field].run(k.scope, k.key, bucketStart);
  });

  return {
    async countConversion(keys, bucketStart, field) {
      if (keys.length > 0) countTx([...keys], bucketStart, field);
    },
    async conversionTotals(keys, from, to) {
      return keys.map((k) => {
        const row = totals.get({ ...stored(k), from, to });
        return { sends: Number(row?.sends ?? 0), approvals: Number(row?.approvals ?? 0) };
      });
    },
    openAbuseBlock: atomic(raw, (block: AbuseBlock, now: number) => {
      const existing = db
        .select()
        .from(b)
        .where(and(eq(b.scope, block.scope), eq(b.key, stored(block).key), active(now)))
        .get();
      if (existing) return { block: toBlock(vault, existing), created: false };
      const keySealed = block.scope !== "country" ? vault.sealText(block.key, sealedContext.abuseBlockKey(block.id)) : null;
      db.insert(b)
        .values({ ...block, key: stored(block).key, keySealed })
        .run();
      return { block, created: true };
    }),
    async listActiveAbuseBlocks(now) {
      return db
        .select()
        .from(b)
        .where(active(now))
        .orderBy(desc(b.createdAt), b.id)
        .all()
        .map((r) => toBlock(vault, r));
    },
    liftAbuseBlock: atomic(raw, (id: string, now: number) => {
      const row = db
        .update(b)
        .set({ liftedAt: now })
        .where(and(eq(b.id, id), active(now)))
        .returning()
        .get();
      if (!row) return null;
      db.delete(c)
        .where(and(eq(c.scope, row.scope), eq(c.key, row.key)))
        .run();
      return toBlock(vault, row);
    }),
    purgeConversion: atomic(raw, (countsBefore: number, blocksBefore: number) => {
      db.delete(c).where(lt(c.bucketStart, countsBefore)).run();
      db.delete(b)
        .where(or(lt(b.expiresAt, blocksBefore), lt(b.liftedAt, blocksBefore)))
        .run();
    }),
  };
}
