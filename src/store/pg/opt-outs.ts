import { and, desc, eq, type Placeholder, type SQL, sql } from "drizzle-orm";
import type { Channel, OptOut, OptOutSource } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { OptOutStore } from "../../core/store/opt-outs.js";
import { sealedContext } from "../at-rest.js";
import type { OpenedPg } from "./open.js";
import { optOuts } from "./schema.js";

type OptOutRow = typeof optOuts.$inferSelect;

/**
 * Opt-outs on PostgreSQL, keyed on (phone index, channel): each is one statement.
 * `phone` holds the number's blind index, `phone_sealed` the number.
 */
export function createPgOptOutStore({ db }: OpenedPg, vault: NumberVault): OptOutStore {
  const o = optOuts;
  const toOptOut = (r: OptOutRow): OptOut => ({
    phone: r.phoneSealed ? vault.open(r.phoneSealed, sealedContext.optOut(r.phone)) : "",
    channel: r.channel as Channel,
    source: r.source as OptOutSource,
    keyword: r.keyword,
    createdAt: r.createdAt,
  });
  const key = (phone: string | Placeholder, channel: Channel | Placeholder) => and(eq(o.phone, phone), eq(o.channel, channel));
  // Asked before every send (and a start's screening lists the number's): named statements, planned
  // once per connection.
  const optedOut = db
    .select({ phone: o.phone })
    .from(o)
    .where(key(sql.placeholder("phone"), sql.placeholder("channel")))
    .prepare("opt_outs_of_channel");
  const ofPhone = db
    .select()
    .from(o)
    .where(eq(o.phone, sql.placeholder("phone")))
    .orderBy(desc(o.createdAt), o.phone, o.channel)
    .limit(sql.placeholder("limit"))
    .prepare("opt_outs_of_phone");
  return {
    async addOptOut(optOut) {
      const phone = vault.index(optOut.phone);
      const phoneSealed = vault.seal(optOut.phone, sealedContext.optOut(phone));
      const inserted = await db
        .insert(o)
        .values({ ...optOut, phone, phoneSealed })
        .onConflictDoNothing()
        .returning({ phone: o.phone });
      return inserted.length > 0;
    },
    async removeOptOut(phone, channel) {
      return (
        (
          await db
            .delete(o)
            .where(key(vault.index(phone), channel))
            .returning({ phone: o.phone })
        ).length > 0
      );
    },
    async isOptedOut(phone, channel) {
      return (await optedOut.execute({ phone: vault.index(phone), channel })).length > 0;
    },
    async listOptOuts(filter) {
      if (filter.phone !== undefined && filter.channel === undefined) {
        const list = await ofPhone.execute({ phone: vault.index(filter.phone), limit: filter.limit ?? 100 });
        return list.map(toOptOut);
      }
      const where: SQL[] = [];
      if (filter.phone !== undefined) where.push(eq(o.phone, vault.index(filter.phone)));
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
