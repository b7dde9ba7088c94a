import type { Verification, VerificationStatus } from "../../core/model.js";
import type { NumberVault } from "../../core/number-vault.js";
import type { NewDelivery } from "../../core/store/deliveries.js";
import { toVerification, type VerificationRow } from "../rows.js";
import { type HotStatements, prepareHotStatements } from "./hot.js";
import type { OpenedSqlite } from "./open.js";

/**
 * What each area of the SQLite Store is built from: the connection, the number vault, the hot
 * statements (compiled once, see hot.ts) and the writes both the verification and the delivery
 * areas make, so that they make them the same way.
 */
export interface SqliteStoreContext extends OpenedSqlite {
  vault: NumberVault;
  hot: HotStatements;
  toVerification(row: VerificationRow): Verification;
  /** Inserts a queued delivery, or one already claimed (`leaseUntil`, see NewDelivery). */
  insertDelivery(d: NewDelivery, now: number): void;
  /** Cancels the verification's deliveries still waiting to be sent. */
  cancelQueued(verificationId: string, now: number): void;
  /** pending → a closed status in its own (nested) transaction; false when it was not pending. */
  closeTx(id: string, status: VerificationStatus, now: number): boolean;
}

export function sqliteStoreContext(opened: OpenedSqlite, vault: NumberVault): SqliteStoreContext {
  const hot = prepareHotStatements(opened.raw);
  const cancelQueued = (verificationId: string, now: number) => {
    hot.cancelQueued.run(now, verificationId);
  };
  return {
    ...opened,
    vault,
    hot,
    toVerification: (row) => toVerification(row, vault),
    insertDelivery(d, now) {
      hot.insertDelivery.run({ ...d, leaseUntil: d.leaseUntil ?? null, now });
    },
    cancelQueued,
    closeTx: opened.raw.transaction((id: string, status: VerificationStatus, now: number) => {
      const changed = hot.closeVerification.run({ id, status, now }).changes;
      if (changed) cancelQueued(id, now);
      return changed > 0;
    }),
  };
}
