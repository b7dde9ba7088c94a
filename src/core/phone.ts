import {
  type CountryCode,
  isSupportedCountry,
  ParseError,
  parsePhoneNumberWithError,
  validatePhoneNumberLength,
} from "libphonenumber-js/max";
import { VerifydError } from "./errors.js";
import type { LineType } from "./model.js";

export interface PhoneNumber {
  /** E.164, the only form verifyd keys anything on. */
  e164: string;
  /** ISO 3166-1 alpha-2, when the number belongs to one country. */
  country: string | null;
  /** The line type from libphonenumber's metadata, in snake_case; null when it cannot tell. */
  type: LineType | null;
}

export { LINE_TYPES, type LineType } from "./model.js";

const PARSE_PROBLEMS: Record<string, string> = {
  INVALID_COUNTRY:
    'has no country calling code; write it in E.164 form (+14155550100), begin it with 00, or give "country" for a national number',
  NOT_A_NUMBER: "is not a phone number",
  TOO_SHORT: "is too short",
  TOO_LONG: "is too long",
  INVALID_LENGTH: "has an impossible length",
};

/** Whether libphonenumber knows a country (ISO 3166-1 alpha-2), so a number may be read as national to it. */
export function isKnownCountry(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}

/** Where a number without a country calling code is read as national: the request's country, else the service's. */
export interface PhoneHints {
  /** The `country` given with the number. */
  country?: string | null;
  /** The service's `default_country`. */
  defaultCountry?: string | null;
}

/**
 * Normalizes a phone number as people write it and rejects numbers that cannot exist: E.164 with
 * spaces, dashes and brackets; `00` for `+` (the international prefix of most of the world); or a
 * national number (`020 7946 0958`) with a country from `hints`. Throws `invalid_phone_number` with
 * the reason in words.
 */
export function normalizePhone(input: string, hints: PhoneHints = {}): PhoneNumber {
  const fail = (problem: string): never => {
    throw new VerifydError("invalid_phone_number", `"to" ${problem}`, {
      extensions: { errors: [{ pointer: "/to", detail: problem }] },
    });
  };
  const trimmed = input.trim();
  const country = hints.country ?? hints.defaultCountry ?? null;
  let text = trimmed;
  let national: CountryCode | undefined;
  if (trimmed.startsWith("00")) text = `+${trimmed.slice(2)}`;
  else if (!trimmed.startsWith("+")) {
    if (!country) return fail(PARSE_PROBLEMS.INVALID_COUNTRY as string);
    // Checked at the edges (request body, service settings); a stored value libphonenumber no longer knows is still not a 5xx.
    if (!isKnownCountry(country)) return fail(`cannot be read as a national number of ${country}, which is not a known country`);
    national = country as CountryCode;
  }
  let parsed: ReturnType<typeof parsePhoneNumberWithError> | undefined;
  try {
    parsed = parsePhoneNumberWithError(text, national);
  } catch (err) {
    const reason = err instanceof ParseError ? err.message : "NOT_A_NUMBER";
    fail(PARSE_PROBLEMS[reason] ?? "is not a phone number");
  }
  if (!parsed) return fail("is not a phone number");
  // With the full metadata, `isValid()` is itself the type lookup (valid = a type matched) wherever the
  // country has type patterns; the type is asked first and `isValid()` only when none matched (a country
  // without type patterns falls back to its number pattern there), so a valid number is matched once.
  const type = parsed.getType();
  if (type === undefined && !parsed.isValid()) {
    const lengthProblem = validatePhoneNumberLength(text, national);
    const invalid = national ? `is not a valid number of ${national}` : "is not a valid number for its country";
    fail((lengthProblem && PARSE_PROBLEMS[lengthProblem]) || invalid);
  }
  return { e164: parsed.number, country: parsed.country ?? null, type: type ? (type.toLowerCase() as LineType) : null };
}
