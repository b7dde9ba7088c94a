/**
 * The check that a database's numbers are sealed with this process's key, the same on every backend:
 * each database keeps one box holding `KEY_CHECK_TEXT`, sealed with the key in force (AAD
 * `KEY_CHECK_CONTEXT`). A process whose vault cannot open it refuses to start rather than mix two keys.
 */

export const KEY_CHECK_CONTEXT = "vault_state.key_check";
export const KEY_CHECK_TEXT = "verifyd number key";

export class VaultKeyMismatchError extends Error {
  constructor(
    message = "the database's phone numbers are sealed with another VERIFYD_SECRET; restore that secret, or re-key " +
      "with `verifyd rotate-key` (VERIFYD_PREVIOUS_SECRET set to the old secret)",
  ) {
    super(message);
    this.name = "VaultKeyMismatchError";
  }
}
