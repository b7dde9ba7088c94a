/** Rows deleted by one purge, per table. */
export interface PurgeCounts {
  verifications: number;
  deliveries: number;
  idempotencyKeys: number;
  /** Expired channel memory entries. */
  channelMemory?: number;
}

/** Rows deleted by one erasure, per table. */
export interface ErasureCounts {
  verifications: number;
  deliveries: number;
  idempotencyKeys: number;
  rateLimits: number;
  optOuts: number;
  /** The destination's channel memory entries. */
  channelMemory?: number;
}

/** The retention operations of the Store; each runs in one transaction. */
export interface RetentionStore {
  /**
   * Deletes the verifications created before `cutoff` that are no longer pending, with their
   * deliveries, and the idempotency keys older than 24 hours at `now`.
   */
  purgeBefore(cutoff: number, now: number): Promise<PurgeCounts>;
  /**
   * Deletes every row about the E.164 number `phone`: its verifications (as destination or as the
   * verified sender of an inbound one) and their deliveries, the idempotency keys whose stored
   * response names one of those verifications, the rate-limit counters keyed by the number and the
   * conversion guard's record of its approvals (both counted as `rateLimits`) and, with
   * `includeOptOuts`, its opt-outs.
   */
  eraseNumber(phone: string, options: { includeOptOuts: boolean }): Promise<ErasureCounts>;
}
