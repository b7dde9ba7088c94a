import { isEmailAddress, normalizeEmail } from "./email.js";
import { type LineType, normalizePhone, type PhoneHints } from "./phone.js";

/**
 * Where a verification's code goes: a phone number (every channel but email) or an email address
 * (the email channel only). One verification has one destination; its route keeps the steps that
 * can reach it (`routing.ts`).
 */
export interface Destination {
  /** E.164 number, or the normalised email address: the one form verifyd keys, stores and sends to. */
  to: string;
  /** ISO 3166-1 alpha-2 of a number; null for an address or a number of no single country. */
  country: string | null;
  /** A number's line type; null for an address, or when libphonenumber cannot tell. */
  type: LineType | null;
  email: boolean;
}

/** Reads a start's `to`: an address when it holds an `@`, else a phone number (national ones read by `hints`). */
export function parseDestination(input: string, hints: PhoneHints = {}): Destination {
  if (isEmailAddress(input)) return { to: normalizeEmail(input).address, country: null, type: null, email: true };
  const phone = normalizePhone(input, hints);
  return { to: phone.e164, country: phone.country, type: phone.type, email: false };
}
