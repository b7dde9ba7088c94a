import type { Channel } from "./model.js";
import type { Clock } from "./ports.js";
import type { ChannelMemoryStore, ChannelOutcome } from "./store/channel-memory.js";

/**
 * Records what a channel did for a destination, for the route planner (see route-planner.ts): a
 * delivered receipt, or a failure that is about the recipient on that channel (a rejection such as
 * "not on WhatsApp", a failed receipt). Kept under the destination's blind index, for `memoryMs`.
 */
export interface ChannelMemory {
  record(to: string, channel: Channel, outcome: ChannelOutcome): Promise<void>;
}

export function createChannelMemory(deps: {
  store: Pick<ChannelMemoryStore, "rememberChannel">;
  clock: Clock;
  memoryMs: number;
}): ChannelMemory {
  return {
    async record(to, channel, outcome) {
      const at = deps.clock.now();
      await deps.store.rememberChannel(to, { channel, outcome, at }, at + deps.memoryMs);
    },
  };
}
