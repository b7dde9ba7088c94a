/**
 * Transaction binding (PSD2 dynamic linking): a code issued for a payment shows its amount and
 * payee, and its hash covers them, so it approves only a check that presents the same payment.
 */

/** A payment the code is bound to. */
export interface Transaction {
  /** ISO 4217 currency code, one space, and a decimal amount with a dot: `EUR 12.50`, `JPY 1200`. */
  amount: string;
  /** Who is paid, as shown to the user: 1–20 characters. */
  payee: string;
}

/** Up to 9 integer digits (no leading zero) and up to 3 decimals (e.g. KWD). */
export const AMOUNT_PATTERN = /^[A-Z]{3} (0|[1-9][0-9]{0,8})(\.[0-9]{1,3})?$/;
export const MAX_PAYEE_LENGTH = 20;
/** The longest amount AMOUNT_PATTERN allows, for one-segment checks of templates. */
export const LONGEST_AMOUNT = "EUR 999999999.999";

/** The bytes the code hash covers besides the verification id and the code; unambiguous (JSON array). */
export function transactionBinding(t: Transaction | null | undefined): string | null {
  return t ? JSON.stringify([t.amount, t.payee]) : null;
}

export function sameTransaction(a: Transaction | null | undefined, b: Transaction | null | undefined): boolean {
  return transactionBinding(a) === transactionBinding(b);
}
