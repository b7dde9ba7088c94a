import type { Verification, VerificationStatus } from "../model.js";
import type { NewDelivery } from "./deliveries.js";

/** Secret material of a verification, stored beside it and wiped when it closes. */
export interface CodeSecrets {
  /** HMAC-SHA256(hash key, verification id ‖ code). */
  codeHash: Buffer;
  /** AES-256-GCM sealed code, so the outbox can (re)send it after a crash or a fallback. */
  sealedCode: Buffer;
}

export type CheckAttempt =
  /** The attempt was counted: compare the code against `codeHash`. */
  | { kind: "counted"; verification: Verification; codeHash: Buffer }
  /** Not counted because the verification is unknown, closed, expired or out of attempts. */
  | { kind: "refused"; verification: Verification | null };

export type ResendOutcome =
  | { kind: "resent"; verification: Verification }
  | { kind: "refused"; reason: "cooldown" | "max_sends" | "not_pending"; verification: Verification | null };

/** A verification's lifecycle: each operation is atomic. */
export interface VerificationStore {
  getVerification(serviceId: string, id: string): Promise<Verification | null>;
  /** The live (pending, unexpired) verification for a destination, if any. */
  findPendingByDestination(serviceId: string, to: string, now: number): Promise<Verification | null>;
  /** The most recent verification for a destination, whatever its status. */
  findLatestByDestination(serviceId: string, to: string): Promise<Verification | null>;
  /**
   * Inserts a verification and its first delivery together. Stale pending rows of the same
   * destination are expired first. Returns false when a live pending one exists (a concurrent start won).
   * `first` is null for a test number, which is never sent to.
   */
  createVerification(v: Verification, secrets: CodeSecrets, first: NewDelivery | null): Promise<boolean>;
  /** Counts a send on a live verification, respecting cooldown and max sends, and queues its delivery. */
  recordResend(input: {
    id: string;
    now: number;
    cooldownMs: number;
    secrets?: CodeSecrets;
    expiresAt?: number;
    /** Absent for a test number. */
    delivery?: NewDelivery;
  }): Promise<ResendOutcome>;
  /** Increments the check counter only while pending, unexpired and under the limit. */
  recordCheck(serviceId: string, id: string, now: number): Promise<CheckAttempt>;
  /** pending → approved, once; wipes the code. False when it was no longer pending. */
  approve(id: string, now: number): Promise<boolean>;
  /** pending → a closed status; wipes the code and cancels queued deliveries. */
  closeVerification(id: string, status: Exclude<VerificationStatus, "pending" | "approved">, now: number): Promise<boolean>;
  /** Closes up to `limit` pending verifications past their expiry; returns them (now `expired`). */
  expireDue(now: number, limit: number): Promise<Verification[]>;
}
