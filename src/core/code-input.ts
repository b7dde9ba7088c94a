import { ALPHABETS, type CodeAlphabet } from "./service-settings.js";

/**
 * A code as people type or paste it: grouped with spaces or dashes (`558 262`, `558-262`), in
 * fullwidth or another script's digits (`５５８２６２`, `٥٥٨٢٦٢`), wrapped in the invisible direction
 * marks a right-to-left message carries. Normalized to the form codes are generated in before
 * anything compares it.
 */

/** Whitespace of every kind, dashes (and the minus sign), and invisible format marks (RLM, ZWSP, BOM). */
const SEPARATORS = /[\s\p{Pd}\p{Cf}\u2212]/gu;
const DECIMAL_DIGIT = /\p{Nd}/u;
const DECIMAL_DIGITS = /\p{Nd}/gu;

/**
 * The ASCII digit of any Unicode decimal digit. Unicode assigns decimal digits only in runs of ten,
 * zero first and ascending (a stability guarantee), sometimes several runs in a row; so a digit's
 * value is its distance from the start of its run, modulo ten.
 */
function asciiDigit(digit: string): string {
  const cp = digit.codePointAt(0) as number;
  let offset = 0;
  while (cp - offset - 1 >= 0 && DECIMAL_DIGIT.test(String.fromCodePoint(cp - offset - 1))) offset++;
  return String(offset % 10);
}

/**
 * What the user typed, in the form its code was generated in: NFKC (fullwidth forms), every decimal
 * digit as ASCII, separators removed, and upper case for alphanumeric codes (checked case-insensitively).
 */
export function normalizeCandidate(candidate: string, alphabet: CodeAlphabet): string {
  const plain = candidate
    .normalize("NFKC")
    .replace(SEPARATORS, "")
    .replace(DECIMAL_DIGITS, (d) => (d >= "0" && d <= "9" ? d : asciiDigit(d)));
  return alphabet === "alphanumeric" ? plain.toUpperCase() : plain;
}

/** The form a verification's code has: its length (UTF-8 bytes), and the alphabet it was drawn from, if any. */
export interface CodeShape {
  length: number;
  /** Null for a fixed test code, which may hold any characters. */
  alphabet: CodeAlphabet | null;
}

/**
 * Whether a normalized candidate has the shape of the code: a candidate that has not cannot be
 * right, so refusing it costs an attacker a guess no more than trying it would.
 */
export function fitsShape(normalized: string, shape: CodeShape): boolean {
  if (Buffer.byteLength(normalized, "utf8") !== shape.length) return false;
  if (shape.alphabet === null) return true;
  const allowed = ALPHABETS[shape.alphabet];
  for (const ch of normalized) if (!allowed.includes(ch)) return false;
  return true;
}
