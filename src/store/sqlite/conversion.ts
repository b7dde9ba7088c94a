import { and, count, desc, eq, gt, gte, isNull, lt, or, sql } from "drizzle-orm";
import type { AbuseBlock, ConversionKey } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { ConversionStanding, ConversionStore } from "../../core/store/conversion.js";
import { sealedContext, storedApprovedDestination, storedConversionKey } from "../at-rest.js";
import { toBlock } from "../rows.js";
import { atomic } from "./atomic.js";
import type { OpenedSqlite } from "./open.js";
import { rowsUpsert } from "./rows-upsert.js";
import { abuseBlocks, conversionCounts, conversionHistory } from "./schema.js";

/**
 * The conversion guard's counters, history and blocks on SQLite; each operation is one synchronous
 * transaction. store/backends.ts (`sqliteStores`) joins it to the connection's group commit, beside
 * the Store. Prefixes, ranges, email domains and destinations are keyed by blind index
 * (docs/security.md, Data at rest); a block keeps its key sealed for the admin listing.
 */
export function createSqliteConversionStore({ raw, db }: OpenedSqlite, vault: NumberVault): ConversionStore {
  const stored = (k: ConversionKey) => ({ scope: k.scope, key: storedConversionKey(vault, k.scope, k.key) });
  const c = conversionCounts;
  const b = abuseBlocks;
  const h = conversionHistory;
  const active = (now: number) => and(isNull(b.liftedAt), gt(b.expiresAt, now));

  // One upsert for all of a send's or an approval's keys: each counter is incremented in SQL, never
  // read and written back, and the keys cost one statement rather than one each.
  const bump = {
    sends: rowsUpsert(
      raw,
      "insert into conversion_counts (scope, key, bucket_start, sends) values (?, ?, ?, 1)",
      "on conflict (scope, key, bucket_start) do update set sends = sends + 1",
    ),
    unsend: raw.prepare(
      `update conversion_counts set sends = max(sends - 1, 0) where scope = ? and key = ? and bucket_start = ?`,
    ),
    approvals: rowsUpsert(
      raw,
      "insert into conversion_counts (scope, key, bucket_start, approvals) values (?, ?, ?, 1)",
      "on conflict (scope, key, bucket_start) do update set approvals = approvals + 1",
    ),
  };
  // Both sides of the settle in one pass over the key's buckets, with the key's history.
  const standing = raw.prepare(
    `select
       coalesce(sum(case when c.bucket_start < @to then c.sends end), 0) as settled_sends,
       coalesce(sum(case when c.bucket_start < @to then c.approvals end), 0) as settled_approvals,
       coalesce(sum(case when c.bucket_start >= @to then c.sends end), 0) as unsettled_sends,
       coalesce(sum(case when c.bucket_start >= @to then c.approvals end), 0) as unsettled_approvals,
       (select last_approved_at from conversion_history where scope = @scope and key = @key) as last_approved_at,
       (select blocked_until from conversion_history where scope = @scope and key = @key) as blocked_until
     from conversion_counts c
     where c.scope = @scope and c.key = @key and c.bucket_start >= @from`,
  );
  const approved = rowsUpsert(
    raw,
    "insert into conversion_history (scope, key, last_approved_at) values (?, ?, ?)",
    "on conflict (scope, key) do update set last_approved_at = max(coalesce(last_approved_at, 0), excluded.last_approved_at)",
  );
  const blockedUntil = raw.prepare(
    `insert into conversion_history (scope, key, blocked_until) values (?, ?, ?)
     on conflict (scope, key) do update set blocked_until = max(coalesce(blocked_until, 0), excluded.blocked_until)`,
  );
  // Asked before every refusal by a block or a hold (is this a known user?): compiled once, as the
  // query builder and SQLite's compilation of it cost several times the lookup itself.
  const approvedSince = raw
    .prepare("select 1 from conversion_history where scope = ? and key = ? and last_approved_at >= ?")
    .pluck();
  const vouched = raw.prepare(
    `insert into conversion_history (scope, key, last_approved_at) values (?, ?, ?)
     on conflict (scope, key) do update set last_approved_at = excluded.last_approved_at, blocked_until = null`,
  );

  type StandingRow = Record<"settled_sends" | "settled_approvals" | "unsettled_sends" | "unsettled_approvals", number> & {
    last_approved_at: number | null;
    blocked_until: number | null;
  };

  return {
    // No transaction of its own (a savepoint inside the group commit): its one write is a single
    // statement, atomic by itself, and the reads after it see it on this connection.
    async countSend(keys, bucketStart, settledFrom, settledTo) {
      const rows = keys.map(stored);
      bump.sends(rows.map((k) => [k.scope, k.key, bucketStart]));
      return rows.map((k): ConversionStanding => {
        const r = standing.get({ ...k, from: settledFrom, to: settledTo }) as StandingRow;
        return {
          settled: { sends: r.settled_sends, approvals: r.settled_approvals },
          unsettled: { sends: r.unsettled_sends, approvals: r.unsettled_approvals },
          lastApprovedAt: r.last_approved_at,
          blockedUntil: r.blocked_until,
        };
      });
    },
    uncountSend: atomic(raw, (keys: readonly ConversionKey[], bucketStart: number) => {
      for (const k of keys.map(stored)) bump.unsend.run(k.scope, k.key, bucketStart);
    }),
    countApproval: atomic(raw, (keys: readonly ConversionKey[], bucketStart: number, now: number, to: string) => {
      const rows = keys.map(stored);
      bump.approvals(rows.map((k) => [k.scope, k.key, bucketStart]));
      const number = storedApprovedDestination(vault, to);
      approved([...rows, number].map((k) => [k.scope, k.key, now]));
    }),
    async destinationApprovedSince(to, since) {
      const number = storedApprovedDestination(vault, to);
      return approvedSince.get(number.scope, number.key, since) !== undefined;
    },
    async countAbuseBlocks(k, since) {
      const key = stored(k);
      const row = db
        .select({ n: count() })
        .from(b)
        .where(and(eq(b.scope, key.scope), eq(b.key, key.key), gte(b.createdAt, since), isNull(b.liftedAt)))
        .get();
      return row?.n ?? 0;
    },
    openAbuseBlock: atomic(raw, (block: AbuseBlock, now: number) => {
      const key = stored(block);
      const existing = db
        .select()
        .from(b)
        .where(and(eq(b.scope, key.scope), eq(b.key, key.key), active(now)))
        .get();
      if (existing) return { block: toBlock(vault, existing), created: false };
      const keySealed = block.scope === "country" ? null : vault.sealText(block.key, sealedContext.abuseBlockKey(block.id));
      db.insert(b)
        .values({ ...block, key: key.key, keySealed })
        .run();
      blockedUntil.run(key.scope, key.key, block.expiresAt);
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
      vouched.run(row.scope, row.key, now);
      return toBlock(vault, row);
    }),
    purgeConversion: atomic(raw, (countsBefore: number, blocksBefore: number, historyBefore: number) => {
      db.delete(c).where(lt(c.bucketStart, countsBefore)).run();
      db.delete(b)
        .where(or(lt(b.expiresAt, blocksBefore), lt(b.liftedAt, blocksBefore)))
        .run();
      db.delete(h)
        .where(
          and(lt(sql`coalesce(${h.lastApprovedAt}, 0)`, historyBefore), lt(sql`coalesce(${h.blockedUntil}, 0)`, historyBefore)),
        )
        .run();
    }),
  };
}
