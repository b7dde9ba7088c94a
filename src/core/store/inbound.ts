import type { Verification } from "../model.js";

/** Why an inbound message approved nothing. */
export type InboundRefusal = "unknown" | "expired" | "used" | "sender_mismatch";

export type InboundApproval =
  | { kind: "approved"; verification: Verification }
  | { kind: "refused"; reason: InboundRefusal; verification: Verification | null };

/** Person-to-application verifications, approved by the user's own message. */
export interface InboundStore {
  /**
   * Inserts a person-to-application verification (no delivery). Stale pending rows holding the same
   * hash are expired first. False when a live pending one holds `inboundCodeHash` (pick another code).
   */
  createInboundVerification(v: Verification, inboundCodeHash: Buffer): Promise<boolean>;
  /**
   * One conditional update: the pending, unexpired inbound verification with this hash whose expected
   * sender is unset or `from` becomes approved, records `from` and loses its hash. When nothing changed,
   * a follow-up read tells why.
   */
  approveInbound(inboundCodeHash: Buffer, from: string, now: number): Promise<InboundApproval>;
}
