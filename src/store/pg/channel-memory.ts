import { sql } from "drizzle-orm";
import type { Channel } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { ChannelMemoryStore, ChannelOutcome } from "../../core/store/channel-memory.js";
import { type OpenedPg, rows } from "./open.js";

/** Channel memory on PostgreSQL: one row per (destination's blind index, channel); each operation one statement. */
export function createPgChannelMemoryStore({ db }: OpenedPg, vault: NumberVault): ChannelMemoryStore {
  return {
    async rememberChannel(to, entry, expiresAt) {
      await db.execute(sql`insert into channel_memory (destination, channel, outcome, at, expires_at)
        values (${vault.index(to)}, ${entry.channel}, ${entry.outcome}, ${entry.at}, ${expiresAt})
        on conflict (destination, channel) do update set outcome = excluded.outcome, at = excluded.at, expires_at = excluded.expires_at
        where excluded.at >= channel_memory.at`);
    },
    async recallChannels(to, now) {
      const list = await rows<{ channel: Channel; outcome: ChannelOutcome; at: string }>(
        db,
        sql`select channel, outcome, at from channel_memory where destination = ${vault.index(to)} and expires_at > ${now}
          order by at desc, channel`,
      );
      return list.map((r) => ({ channel: r.channel, outcome: r.outcome, at: Number(r.at) }));
    },
    async forgetChannels(to) {
      return (await db.execute(sql`delete from channel_memory where destination = ${vault.index(to)}`)).rowCount ?? 0;
    },
    async purgeChannelMemory(now, limit) {
      const done = await db.execute(sql`delete from channel_memory where ctid in
        (select ctid from channel_memory where expires_at <= ${now} limit ${limit})`);
      return done.rowCount ?? 0;
    },
  };
}
