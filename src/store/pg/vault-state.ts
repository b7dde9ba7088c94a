import { eq } from "drizzle-orm";
import type { NumberVault } from "../../core/number-vault.js";
import { KEY_CHECK_CONTEXT, KEY_CHECK_TEXT, VaultKeyMismatchError } from "../vault-key.js";
import type { PgDb } from "./open.js";
import { vaultState } from "./schema.js";

/**
 * The key a PostgreSQL database's numbers are sealed with. Unlike SQLite there is no one-time
 * sealing pass: every version that could write to PostgreSQL already sealed numbers, so a new
 * database never holds plaintext. The first start records a box sealed with its key; every later
 * start (and every replica) must open it, so a changed secret is refused instead of mixing keys.
 */
export async function ensurePgKey(db: PgDb, vault: NumberVault, now: number): Promise<void> {
  // Replicas starting together: the first insert wins, the others read its box.
  await db
    .insert(vaultState)
    .values({ id: 1, keyCheck: vault.seal(KEY_CHECK_TEXT, KEY_CHECK_CONTEXT), updatedAt: now })
    .onConflictDoNothing();
  const [row] = await db.select({ keyCheck: vaultState.keyCheck }).from(vaultState).where(eq(vaultState.id, 1));
  let opened: string | null = null;
  try {
    opened = row ? vault.open(row.keyCheck, KEY_CHECK_CONTEXT) : null;
  } catch {
    opened = null;
  }
  if (opened !== KEY_CHECK_TEXT) {
    throw new VaultKeyMismatchError(
      "the database's phone numbers are sealed with another VERIFYD_SECRET; restore that secret " +
        "(rotate-key is not available on PostgreSQL)",
    );
  }
}
