import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import type { Channel, OptOut, OptOutSource } from "../../core/model.js";
import type { OptOutStore } from "../../core/store/opt-outs.js";
import { sealedContext } from "../at-rest.js";
import type { SqliteStoreContext } from "./context.js";
import { optOuts } from "./schema.js";

type OptOutRow = typeof optOuts.$inferSelect;

/**
 * Opt-outs on SQLite, keyed on (phone index, channel): each is one statement.
 * `phone` holds the number's blind index, `phone_sealed` the number.
 */
export function createSqliteOptOutStore({ db, raw, vault }: SqliteStoreContext): OptOutStore {
  const o = optOuts;
  const toOptOut = (r: OptOutRow): OptOut => ({
    phone: r.phoneSealed ? vault.open(r.phoneSealed, sealedContext.optOut(r.phone)) : "",
    channel: r.channel as Channel,
    source: r.source as OptOutSource,
    keyword: r.keyword,
    createdAt: r.createdAt,
  });
  const key = (phone: string, channel: Channel) => and(eq(o.phone, phone), eq(o.channel, channel));
  // Asked before every send: one prepared primary-key lookup.
  const exists = db
    .select({ one: sql<number>`1` })
    .from(o)
    .where(and(eq(o.phone, sql.placeholder("phone")), eq(o.channel, sql.placeholder("channel"))))
    .prepare();
  // A number has at most one row per channel: a primary-key range, sorted here rather than by the planner.
  // Asked by every start (and the outbox before every send), refused ones included: plain SQL, as the
  // query builder's per-call work on its rows cost more than the lookup.
  const byPhone = raw.prepare<[string], OptOutRow>(
    `select phone, phone_sealed as phoneSealed, channel, source, keyword, created_at as createdAt
     from opt_outs where phone = ?`,
  );

  return {
    async addOptOut(optOut) {
      const phone = vault.index(optOut.phone);
      const phoneSealed = vault.seal(optOut.phone, sealedContext.optOut(phone));
      return (
        db
          .insert(o)
          .values({ ...optOut, phone, phoneSealed })
          .onConflictDoNothing()
          .run().changes > 0
      );
    },
    async removeOptOut(phone, channel) {
      return (
        db
          .delete(o)
          .where(key(vault.index(phone), channel))
          .run().changes > 0
      );
    },
    async isOptedOut(phone, channel) {
      return exists.get({ phone: vault.index(phone), channel }) !== undefined;
    },
    async listOptOuts(filter) {
      // The outbox asks by number before every send: that shape has its own prepared statement.
      if (filter.phone !== undefined && filter.channel === undefined) {
        const rows = byPhone.all(vault.index(filter.phone));
        rows.sort((a, b) => b.createdAt - a.createdAt || a.channel.localeCompare(b.channel));
        return rows.slice(0, filter.limit ?? 100).map(toOptOut);
      }
      const where: SQL[] = [];
      if (filter.phone !== undefined) where.push(eq(o.phone, vault.index(filter.phone)));
      if (filter.channel !== undefined) where.push(eq(o.channel, filter.channel));
      return db
        .select()
        .from(o)
        .where(and(...where))
        .orderBy(desc(o.createdAt), o.phone, o.channel)
        .limit(filter.limit ?? 100)
        .all()
        .map(toOptOut);
    },
  };
}
