import { and, count, desc, eq, gt, gte, isNull, lt, or, sql } from "drizzle-orm";
import type { ConversionKey } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { ConversionStanding, ConversionStore } from "../../core/store/conversion.js";
import { sealedContext, storedApprovedDestination, storedConversionKey } from "../at-rest.js";
import { toBlock } from "../rows.js";
import { namedRows, type OpenedPg } from "./open.js";
import { abuseBlocks, conversionCounts, conversionHistory } from "./schema.js";

/**
 * The conversion guard's counters, history and blocks on PostgreSQL, shared by every instance.
 * Counters are incremented in SQL (an upsert), never read and written back; opening a block takes a
 * transaction lock on its scope and key, so two instances tripping together open one block.
 * Prefixes, ranges, email domains and destinations are keyed by blind index (docs/security.md, Data
 * at rest); a block keeps its key sealed for the admin listing.
 */
export function createPgConversionStore({ db, pool }: OpenedPg, vault: NumberVault): ConversionStore {
  const stored = (k: ConversionKey) => ({ scope: k.scope, key: storedConversionKey(vault, k.scope, k.key) });
  const c = conversionCounts;
  const b = abuseBlocks;
  const h = conversionHistory;
  const active = (now: number) => and(isNull(b.liftedAt), gt(b.expiresAt, now));

  /** One row per distinct key (an upsert may not touch a row twice), carrying how often it was named. */
  function distinct(keys: readonly ConversionKey[]) {
    const times = new Map<string, { scope: string; key: string; n: number }>();
    for (const k of keys.map(stored)) {
      const id = `${k.scope}\u0000${k.key}`;
      const seen = times.get(id);
      if (seen) seen.n++;
      else times.set(id, { ...k, n: 1 });
    }
    return [...times.values()];
  }

  type StandingRow = {
    scope: string;
    key: string;
    settled_sends: number;
    settled_approvals: number;
    unsettled_sends: number;
    unsettled_approvals: number;
    last_approved_at: string | null;
    blocked_until: string | null;
  };
  const orNull = (v: string | null) => (v === null ? null : Number(v));

  return {
    async countSend(keys, bucketStart, settledFrom, settledTo) {
      if (keys.length === 0) return [];
      const named = distinct(keys);
      const values = sql.join(
        named.map((k) => sql`(${k.scope}::text, ${k.key}::text, ${k.n}::int)`),
        sql`, `,
      );
      const sum = (column: "sends" | "approvals", settled: boolean) =>
        sql`coalesce(sum(c.${sql.raw(column)}) filter (where c.bucket_start ${sql.raw(settled ? "<" : ">=")} ${settledTo}), 0)::int`;
      // One statement: the upsert (a data-modifying CTE) and the sums, which read the snapshot from
      // before it; this send is added below, on its side of `settledTo`.
      const found = await namedRows<StandingRow>(
        pool,
        sql`with k(scope, key, n) as (values ${values}),
          counted as (
            insert into conversion_counts (scope, key, bucket_start, sends)
            select k.scope, k.key, ${bucketStart}::bigint, k.n from k
            on conflict (scope, key, bucket_start) do update set sends = conversion_counts.sends + excluded.sends
          )
          select k.scope, k.key,
            ${sum("sends", true)} as settled_sends, ${sum("approvals", true)} as settled_approvals,
            ${sum("sends", false)} as unsettled_sends, ${sum("approvals", false)} as unsettled_approvals,
            h.last_approved_at, h.blocked_until
          from k
          left join conversion_counts c on c.scope = k.scope and c.key = k.key and c.bucket_start >= ${settledFrom}
          left join conversion_history h on h.scope = k.scope and h.key = k.key
          group by k.scope, k.key, h.last_approved_at, h.blocked_until`,
      );
      const byKey = new Map(found.map((r) => [`${r.scope}\u0000${r.key}`, r]));
      const times = new Map(named.map((k) => [`${k.scope}\u0000${k.key}`, k.n]));
      const settled = bucketStart < settledTo;
      return keys.map(stored).map((k): ConversionStanding => {
        const id = `${k.scope}\u0000${k.key}`;
        const r = byKey.get(id) as StandingRow;
        const n = bucketStart >= settledFrom ? (times.get(id) ?? 1) : 0;
        return {
          settled: { sends: r.settled_sends + (settled ? n : 0), approvals: r.settled_approvals },
          unsettled: { sends: r.unsettled_sends + (settled ? 0 : n), approvals: r.unsettled_approvals },
          lastApprovedAt: orNull(r.last_approved_at),
          blockedUntil: orNull(r.blocked_until),
        };
      });
    },
    async uncountSend(keys, bucketStart) {
      if (keys.length === 0) return;
      const values = sql.join(
        distinct(keys).map((k) => sql`(${k.scope}::text, ${k.key}::text, ${k.n}::int)`),
        sql`, `,
      );
      await db.execute(
        sql`update conversion_counts c set sends = greatest(c.sends - k.n, 0)
            from (values ${values}) as k(scope, key, n)
            where c.scope = k.scope and c.key = k.key and c.bucket_start = ${bucketStart}`,
      );
    },
    async countApproval(keys, bucketStart, now, to) {
      const named = distinct(keys);
      const history = db
        .insert(h)
        .values(
          [...named, storedApprovedDestination(vault, to)].map((k) => ({ scope: k.scope, key: k.key, lastApprovedAt: now })),
        )
        .onConflictDoUpdate({
          target: [h.scope, h.key],
          set: { lastApprovedAt: sql`greatest(${h.lastApprovedAt}, excluded.last_approved_at)` },
        });
      if (named.length === 0) {
        await namedRows(pool, history.getSQL());
        return;
      }
      const counts = db
        .insert(c)
        .values(named.map((k) => ({ scope: k.scope, key: k.key, bucketStart, sends: 0, approvals: k.n })))
        .onConflictDoUpdate({
          target: [c.scope, c.key, c.bucketStart],
          set: { approvals: sql`${c.approvals} + excluded.approvals` },
        });
      // Both upserts in one statement: atomic as the transaction it replaces, in one round trip.
      await namedRows(pool, sql`with counted as (${counts.getSQL()}) ${history.getSQL()}`);
    },
    async destinationApprovedSince(to, since) {
      const number = storedApprovedDestination(vault, to);
      const [row] = await db
        .select({ at: h.lastApprovedAt })
        .from(h)
        .where(and(eq(h.scope, number.scope), eq(h.key, number.key), gte(h.lastApprovedAt, since)));
      return row !== undefined;
    },
    async countAbuseBlocks(k, since) {
      const key = stored(k);
      const [row] = await db
        .select({ n: count() })
        .from(b)
        .where(and(eq(b.scope, key.scope), eq(b.key, key.key), gte(b.createdAt, since), isNull(b.liftedAt)));
      return Number(row?.n ?? 0);
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
        const keySealed = block.scope === "country" ? null : vault.sealText(block.key, sealedContext.abuseBlockKey(block.id));
        await tx.insert(b).values({ ...block, key, keySealed });
        await tx
          .insert(h)
          .values({ scope: block.scope, key, blockedUntil: block.expiresAt })
          .onConflictDoUpdate({
            target: [h.scope, h.key],
            set: { blockedUntil: sql`greatest(${h.blockedUntil}, excluded.blocked_until)` },
          });
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
        await tx
          .insert(h)
          .values({ scope: row.scope, key: row.key, lastApprovedAt: now, blockedUntil: null })
          .onConflictDoUpdate({ target: [h.scope, h.key], set: { lastApprovedAt: now, blockedUntil: null } });
        return toBlock(vault, row);
      });
    },
    async purgeConversion(countsBefore, blocksBefore, historyBefore) {
      await db.transaction(async (tx) => {
        await tx.delete(c).where(lt(c.bucketStart, countsBefore));
        await tx.delete(b).where(or(lt(b.expiresAt, blocksBefore), lt(b.liftedAt, blocksBefore)));
        await tx
          .delete(h)
          .where(
            and(lt(sql`coalesce(${h.lastApprovedAt}, 0)`, historyBefore), lt(sql`coalesce(${h.blockedUntil}, 0)`, historyBefore)),
          );
      });
    },
  };
}
