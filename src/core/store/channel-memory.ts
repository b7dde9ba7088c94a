import type { Channel } from "../model.js";

/** What a channel last did for one destination: delivered a code, or failed to. */
export type ChannelOutcome = "delivered" | "failed";

export interface ChannelMemoryEntry {
  channel: Channel;
  outcome: ChannelOutcome;
  at: number;
}

/**
 * Per destination (stored by its blind index, never in clear) and channel, the last outcome and when
 * it is forgotten. Each operation is atomic.
 */
export interface ChannelMemoryStore {
  /** Records (replaces) the destination's outcome on `channel`, forgotten at `expiresAt`. */
  rememberChannel(to: string, entry: ChannelMemoryEntry, expiresAt: number): Promise<void>;
  /** The destination's unexpired entries, newest first. */
  recallChannels(to: string, now: number): Promise<ChannelMemoryEntry[]>;
  /** Deletes the destination's entries (erasure); returns how many. */
  forgetChannels(to: string): Promise<number>;
  /** Deletes expired entries, at most `limit`; returns how many. */
  purgeChannelMemory(now: number, limit: number): Promise<number>;
}
