/**
 * Text encodings for SMPP short messages: the GSM 03.38 default alphabet, sent unpacked
 * (one septet per octet, extension characters as 0x1B + code), and UCS-2 as UTF-16BE. The smpp package
 * would pick an encoding by itself and label GSM text 0x01 (IA5), which many SMSCs read as ASCII, so the
 * adapter encodes here and always sets data_coding explicitly.
 */

export const DATA_CODING_GSM7 = 0x00;
export const DATA_CODING_UCS2 = 0x08;

/** One SMS without concatenation: 140 octets of user data. */
export const MAX_GSM7_SEPTETS = 160;
export const MAX_UCS2_UNITS = 70;

/** 3GPP TS 23.038 default alphabet in code order; 0x1B (escape to the extension table) is skipped below. */
const BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

const ESCAPE = 0x1b;

const BASIC_CODES = new Map<string, number>();
for (let code = 0; code < BASIC.length; code++) {
  if (code !== ESCAPE) BASIC_CODES.set(BASIC.charAt(code), code);
}

/** Extension table: each costs two septets (escape + code). */
const EXTENSION_CODES = new Map<string, number>([
  ["\f", 0x0a],
  ["^", 0x14],
  ["{", 0x28],
  ["}", 0x29],
  ["\\", 0x2f],
  ["[", 0x3c],
  ["~", 0x3d],
  ["]", 0x3e],
  ["|", 0x40],
  ["€", 0x65],
]);

/** Septets the text needs in GSM-7, or null when a character is outside the basic and extension tables. */
export function gsm7Septets(text: string): number | null {
  let septets = 0;
  for (const char of text) {
    if (BASIC_CODES.has(char)) septets += 1;
    else if (EXTENSION_CODES.has(char)) septets += 2;
    else return null;
  }
  return septets;
}

export function isGsm7(text: string): boolean {
  return gsm7Septets(text) !== null;
}

/** Unpacked GSM-7 (data_coding 0x00). The caller checks `isGsm7` first; other characters throw. */
export function encodeGsm7(text: string): Buffer {
  const octets: number[] = [];
  for (const char of text) {
    const basic = BASIC_CODES.get(char);
    if (basic !== undefined) {
      octets.push(basic);
      continue;
    }
    const extension = EXTENSION_CODES.get(char);
    if (extension === undefined) throw new RangeError(`not in the GSM 03.38 alphabet: U+${char.codePointAt(0)?.toString(16)}`);
    octets.push(ESCAPE, extension);
  }
  return Buffer.from(octets);
}

/** UTF-16BE: emoji outside the BMP go as surrogate pairs, which handsets reassemble. */
export function encodeUcs2(text: string): Buffer {
  return Buffer.from(text, "utf16le").swap16();
}

export function decodeUcs2(bytes: Buffer): string {
  const even = bytes.subarray(0, bytes.length - (bytes.length % 2));
  return Buffer.from(even).swap16().toString("utf16le");
}

export interface EncodedBody {
  dataCoding: typeof DATA_CODING_GSM7 | typeof DATA_CODING_UCS2;
  bytes: Buffer;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  /** What one segment holds in this encoding. */
  maxUnits: number;
}

/** GSM-7 when every character allows it (one outside character switches the whole message), else UCS-2. */
export function encodeBody(text: string): EncodedBody {
  const septets = gsm7Septets(text);
  if (septets !== null) {
    return { dataCoding: DATA_CODING_GSM7, bytes: encodeGsm7(text), units: septets, maxUnits: MAX_GSM7_SEPTETS };
  }
  return { dataCoding: DATA_CODING_UCS2, bytes: encodeUcs2(text), units: text.length, maxUnits: MAX_UCS2_UNITS };
}

/**
 * SMPP relative time `YYMMDDhhmmss000R` (§7.1.1), rounded down to whole seconds so the SMSC never keeps
 * the message past the code's expiry. Months and years are left at zero: days carry up to 99.
 */
export function relativeValidity(ms: number): string {
  let seconds = Math.max(0, Math.floor(ms / 1000));
  const maxSeconds = 99 * 86_400 + 23 * 3600 + 59 * 60 + 59;
  seconds = Math.min(seconds, maxSeconds);
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const two = (n: number) => String(n).padStart(2, "0");
  return `0000${two(days)}${two(hours)}${two(minutes)}${two(seconds % 60)}000R`;
}
