import type { AbuseBlock, ConversionKey } from "../model.js";

export interface ConversionTotals {
  sends: number;
  approvals: number;
}

/** The conversion guard's storage; each operation is atomic. */
export interface ConversionStore {
  /** Adds one to `field` of each key's bucket (created at zero when missing). */
  countConversion(keys: readonly ConversionKey[], bucketStart: number, field: "sends" | "approvals"): Promise<void>;
  /** Each key's sums over the buckets starting in [from, to), in the order of `keys`. */
  conversionTotals(keys: readonly ConversionKey[], from: number, to: number): Promise<ConversionTotals[]>;
  /** Inserts the block unless one is active for its scope and key; returns the active one and whether it is new. */
  openAbuseBlock(block: AbuseBlock, now: number): Promise<{ block: AbuseBlock; created: boolean }>;
  /** Blocks neither lifted nor expired at `now`, newest first. */
  listActiveAbuseBlocks(now: number): Promise<AbuseBlock[]>;
  /** Lifts an active block and deletes its scope and key's counters; null when no active block has this id. */
  liftAbuseBlock(id: string, now: number): Promise<AbuseBlock | null>;
  /** Deletes counter buckets starting before `countsBefore` and blocks that ended before `blocksBefore`. */
  purgeConversion(countsBefore: number, blocksBefore: number): Promise<void>;
}
