import type { Channel } from "../../core/model.js";
import type { ChannelMemoryEntry, ChannelMemoryStore, ChannelOutcome } from "../../core/store/channel-memory.js";
import type { SqliteStoreContext } from "./context.js";

/** Channel memory on SQLite: one row per (destination's blind index, channel); each operation one statement. */
export function createSqliteChannelMemoryStore({ raw, vault }: SqliteStoreContext): ChannelMemoryStore {
  const upsert = raw.prepare(`insert into channel_memory (destination, channel, outcome, at, expires_at)
    values (@destination, @channel, @outcome, @at, @expiresAt)
    on conflict (destination, channel) do update set outcome = excluded.outcome, at = excluded.at, expires_at = excluded.expires_at
    where excluded.at >= channel_memory.at`);
  const recall = raw.prepare(
    "select channel, outcome, at from channel_memory where destination = ? and expires_at > ? order by at desc, channel",
  );
  const forget = raw.prepare("delete from channel_memory where destination = ?");
  const purge = raw.prepare(
    "delete from channel_memory where rowid in (select rowid from channel_memory where expires_at <= ? limit ?)",
  );
  return {
    async rememberChannel(to, entry, expiresAt) {
      upsert.run({ destination: vault.index(to), channel: entry.channel, outcome: entry.outcome, at: entry.at, expiresAt });
    },
    async recallChannels(to, now) {
      return (recall.all(vault.index(to), now) as { channel: Channel; outcome: ChannelOutcome; at: number }[]).map(
        (r): ChannelMemoryEntry => ({ channel: r.channel, outcome: r.outcome, at: r.at }),
      );
    },
    async forgetChannels(to) {
      return forget.run(vault.index(to)).changes;
    },
    async purgeChannelMemory(now, limit) {
      return purge.run(now, limit).changes;
    },
  };
}
