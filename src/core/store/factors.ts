import type { Factor, StoredFactor } from "../model.js";

/** `counted`: the attempt was counted as a failure in advance; compare the code against this fresh row. */
export type FactorAttempt =
  | { kind: "counted"; factor: StoredFactor }
  | { kind: "locked"; factor: Factor }
  | { kind: "not_found" };

export type FactorAcceptance =
  | { kind: "accepted"; factor: Factor }
  /** `replayed`: this step (or a later one) was accepted already. */
  | { kind: "refused"; reason: "replayed" | "not_found" };

/** Authenticator-app (TOTP) factors. */
export interface FactorStore {
  createFactor(factor: StoredFactor): Promise<void>;
  getFactor(serviceId: string, id: string): Promise<StoredFactor | null>;
  /** An entity's factors, oldest first. */
  listFactors(serviceId: string, entityId: string): Promise<StoredFactor[]>;
  deleteFactor(serviceId: string, id: string): Promise<boolean>;
  /**
   * Counts an attempt as a failure before its code is compared (as `recordCheck` does), so concurrent
   * guesses cannot outrun the lockout: refused while `locked_until` is in the future; the attempt that
   * brings the count to `maxFailures` sets `locked_until = now + lockMs`. The count is kept through the
   * lockout, so after it each further failure locks again at once, until a success clears it.
   */
  beginFactorAttempt(input: { id: string; now: number; maxFailures: number; lockMs: number }): Promise<FactorAttempt>;
  /**
   * Accepts `step` only if it is above the last accepted step, in one conditional update: of two
   * concurrent correct codes for one step, exactly one is accepted. Clears the failure count and lock
   * of this factor and of `alsoReset` (the entity's other factors tried by the same challenge);
   * `activate` also marks an unverified factor verified.
   */
  acceptFactorStep(input: {
    id: string;
    step: number;
    now: number;
    activate: boolean;
    alsoReset?: string[];
  }): Promise<FactorAcceptance>;
}
