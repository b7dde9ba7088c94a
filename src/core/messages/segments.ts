/**
 * How many SMS segments a text takes (3GPP TS 23.038 alphabet, TS 23.040 concatenation).
 * A text made only of GSM-7 characters is sent in GSM-7 (160 septets in one segment, 153 per
 * segment when concatenated), where extension-table characters cost two septets (escape + char).
 * One character outside that set switches the whole text to UCS-2: 70 UTF-16 code units in one
 * segment, 67 when concatenated.
 */

const GSM7_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "^{}\\[~]|€\f";

const basic = new Set(GSM7_BASIC);
const extension = new Set(GSM7_EXTENSION);

export type SmsEncoding = "gsm7" | "ucs2";

export interface SegmentCount {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  segments: number;
  /** What one segment holds in this encoding (160 or 70). */
  singleSegmentLimit: number;
}

export const GSM7_SINGLE = 160;
export const GSM7_CONCATENATED = 153;
export const UCS2_SINGLE = 70;
export const UCS2_CONCATENATED = 67;

/** Septets of `text` in GSM-7, or null when a character has no GSM-7 form. */
export function gsm7Septets(text: string): number | null {
  let septets = 0;
  for (const char of text) {
    if (basic.has(char)) septets += 1;
    else if (extension.has(char)) septets += 2;
    else return null;
  }
  return septets;
}

/** @example countSegments("Your code is 123456") // { encoding: "gsm7", units: 19, segments: 1, … } */
export function countSegments(text: string): SegmentCount {
  const septets = gsm7Septets(text);
  if (septets !== null) {
    const segments = septets <= GSM7_SINGLE ? 1 : Math.ceil(septets / GSM7_CONCATENATED);
    return { encoding: "gsm7", units: septets, segments, singleSegmentLimit: GSM7_SINGLE };
  }
  const units = text.length; // UTF-16 code units: an emoji outside the BMP counts 2
  const segments = units <= UCS2_SINGLE ? 1 : Math.ceil(units / UCS2_CONCATENATED);
  return { encoding: "ucs2", units, segments, singleSegmentLimit: UCS2_SINGLE };
}

export function fitsOneSegment(text: string): boolean {
  return countSegments(text).segments === 1;
}
