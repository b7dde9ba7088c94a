import { ParseError, parsePhoneNumberWithError, validatePhoneNumberLength } from "libphonenumber-js/max";
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
  INVALID_COUNTRY: "has no country calling code; write it in E.164 form, e.g. +14155550100",
  NOT_A_NUMBER: "is not a phone number",
  TOO_SHORT: "is too short",
  TOO_LONG: "is too long",
  INVALID_LENGTH: "has an impossible length",
};

/**
 * Normalizes an E.164-ish input (spaces, dashes and brackets allowed) and rejects numbers that
 * cannot exist. Throws `invalid_phone_number` with the reason in words.
 */
export function normalizePhone(input: string): PhoneNumber {
  const fail = (problem: string): never => {
    throw new VerifydError("invalid_phone_number", `"to" ${problem}`, {
      extensions: { errors: [{ pointer: "/to", detail: problem }] },
    });
  };
  if (!input.trim().startsWith("+")) fail(PARSE_PROBLEMS.INVALID_COUNTRY as string);
  let parsed: ReturnType<typeof parsePhoneNumberWithError> | undefined;
  try {
    parsed = parsePhoneNumberWithError(input);
  } catch (err) {
    const reason = err instanceof ParseError ? err.message : "NOT_A_NUMBER";
    fail(PARSE_PROBLEMS[reason] ?? "is not a phone number");
  }
  if (!parsed) return fail("is not a phone number");
  if (!parsed.isValid()) {
    const lengthProblem = validatePhoneNumberLength(input);
    fail((lengthProblem && PARSE_PROBLEMS[lengthProblem]) || "is not a valid number for its country");
  }
  const type = parsed.getType();
  return { e164: parsed.number, country: parsed.country ?? null, type: type ? (type.toLowerCase() as LineType) : null };
}
