import { and, desc, eq, type SQL } from "drizzle-orm";
import type { OptOut, OptOutSource, OptOutStore } from "../../core/opt-outs.js";
import type { Channel } from "../../core/ports.js";
import type { PgDb } from "./open.js";
import { optOuts } from "./schema.js";

type OptOutRow = typeof optOuts.$inferSelect;

const toOptOut = (r: OptOutRow): OptOut => ({
  phone: r.phone,
  channel: r.channel as Channel,
  source: r.source as OptOutSource,
  keyword: r.keyword,
  createdAt: r.createdAt,
});

/** The opt-out operations of the PostgreSQL Store, keyed on (phone, channel): each is one statement. */
export function createPgOptOutOperations(db: PgDb): OptOutStore {
  const o = optOuts;
  const key = (phone: string, channel: Channel) => and(eq(o.phone, phone), eq(o.channel, channel));
  return {
    async addOptOut(optOut) {
      return (await db.insert(o).values(optOut).onConflictDoNothing().returning({ phone: o.phone })).length > 0;
    },
    async removeOptOut(phone, channel) {
      return (await db.delete(o).where(key(phone, channel)).returning({ phone: o.phone })).length > 0;
    },
    async isOptedOut(phone, channel) {
      return (await db.select({ phone: o.phone }).from(o).where(key(phone, channel))).length > 0;
    },
    async listOptOuts(filter) {
      const where: SQL[] = [];
      if (filter.phone !== undefined) where.push(eq(o.phone, filter.phone));
      if (filter.channel !== undefined) where.push(eq(o.channel, filter.channel));
      const list = await db
        .select()
        .from(o)
        .where(and(...where))
        .orderBy(desc(o.createdAt), o.phone, o.channel)
        .limit(filter.limit ?? 100);
      return list.map(toOptOut);
    },
  };
}
