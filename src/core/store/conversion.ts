import type { AbuseBlock, ConversionKey } from "../model.js";

export interface ConversionTotals {
  sends: number;
  approvals: number;
}

/** What the guard knows of one key when a send to it is counted. */
export interface ConversionStanding {
  /** Sends and approvals of the cohorts in `[settledFrom, settledTo)`: codes that had every chance to be entered. */
  settled: ConversionTotals;
  /** Sends and approvals of the cohorts from `settledTo` on: codes that may still be entered. */
  unsettled: ConversionTotals;
  /** The latest approval on record (or an admin's lift, which vouches like one); null when none is. */
  lastApprovedAt: number | null;
  /** When the key's latest block ended or ends; null when none is on record. */
  blockedUntil: number | null;
}

/** The conversion guard's storage; each operation is atomic. */
export interface ConversionStore {
  /**
   * Adds one send to each key's bucket `bucketStart` (created at zero when missing) and returns each
   * key's standing, in the order of `keys`, split at `settledTo`, this send included. Buckets before
   * `settledFrom` are left out.
   */
  countSend(
    keys: readonly ConversionKey[],
    bucketStart: number,
    settledFrom: number,
    settledTo: number,
  ): Promise<ConversionStanding[]>;
  /** Takes back a send `countSend` counted in each key's bucket `bucketStart` (one that was then refused). */
  uncountSend(keys: readonly ConversionKey[], bucketStart: number): Promise<void>;
  /**
   * Adds one approval to each key's bucket `bucketStart` and records `now` as each key's latest
   * approval, and as the latest of the destination `to` itself (a number or an address).
   */
  countApproval(keys: readonly ConversionKey[], bucketStart: number, now: number, to: string): Promise<void>;
  /** Whether the destination `to` had an approval recorded since `since`. */
  destinationApprovedSince(to: string, since: number): Promise<boolean>;
  /** How many blocks of this scope and key were opened since `since`, lifted ones left out. */
  countAbuseBlocks(key: ConversionKey, since: number): Promise<number>;
  /**
   * Inserts the block unless one is active for its scope and key; returns the active one and whether
   * it is new. A new block's end is recorded as its key's `blockedUntil`.
   */
  openAbuseBlock(block: AbuseBlock, now: number): Promise<{ block: AbuseBlock; created: boolean }>;
  /** Blocks neither lifted nor expired at `now`, newest first. */
  listActiveAbuseBlocks(now: number): Promise<AbuseBlock[]>;
  /**
   * Lifts an active block, deletes its scope and key's counters and vouches for the key (its latest
   * approval becomes `now`, its block end is forgotten); null when no active block has this id.
   */
  liftAbuseBlock(id: string, now: number): Promise<AbuseBlock | null>;
  /**
   * Deletes counter buckets starting before `countsBefore`, blocks that ended before `blocksBefore`,
   * and the history of keys and numbers with neither an approval nor a block end since `historyBefore`.
   */
  purgeConversion(countsBefore: number, blocksBefore: number, historyBefore: number): Promise<void>;
}
