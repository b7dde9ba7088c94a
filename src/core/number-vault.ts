import { createHash, createHmac, createSecretKey } from "node:crypto";
import { deriveKey, openFrom, sealInto } from "./codes.js";

/**
 * Phone numbers (and documents that contain them) at rest. Two keys are derived from
 * `VERIFYD_SECRET` with HKDF, apart from the code keys:
 * - a blind-index key: HMAC-SHA256 of the E.164 number, deterministic, so equality lookups, unique
 *   indexes and rate-limit counters work on the digest; without the key the digest cannot be
 *   brute-forced over the small space of phone numbers, as a plain hash could;
 * - a sealing key: AES-256-GCM, so the clear value can be read back by verifyd alone.
 * The adapters call it at their edge; the domain keeps speaking plain E.164.
 */
export interface NumberVault {
  /** One byte naming the key generation, stored in every box, so a box from another secret is recognised. */
  readonly keyId: number;
  /** The blind index of a number (or of any number-derived key, such as a prefix): 43 base64url characters. */
  index(value: string): string;
  /** AES-256-GCM box of `plaintext`; `context` (purpose and owner, e.g. `verifications.to:ver_…`) is its AAD. */
  seal(plaintext: string, context: string): Buffer;
  /** Opens a `seal` box; throws `SealedElsewhereError` when the box is from another key, or on any tampering. */
  open(sealed: Buffer, context: string): string;
  /** `seal` as text for text columns (JSON documents): `SEALED_TEXT_PREFIX` + base64url. */
  sealText(plaintext: string, context: string): string;
  openText(stored: string, context: string): string;
}

/** Box layout: version ‖ key id ‖ 96-bit nonce ‖ 128-bit tag ‖ ciphertext. */
const VERSION = 1;
const HEADER = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Marks sealed text, so a legacy plaintext document (JSON, starting with `{`) is told apart at upgrade. */
export const SEALED_TEXT_PREFIX = "sealed1:";

export class SealedElsewhereError extends Error {
  constructor(readonly keyId: number) {
    super(`sealed under another key (key id ${keyId}); was VERIFYD_SECRET changed without verifyd rotate-key?`);
    this.name = "SealedElsewhereError";
  }
}

/**
 * Blind indexes recently computed, so the lookups, counters and writes of one request, which each
 * index the same number (a start: opt-outs, the live verification, the send limit, the row, the
 * outbox's opt-out check), pay the HMAC once; and numbers recently opened, likewise. At most
 * `INDEX_MEMO` entries a generation. They live in process memory only, beside the numbers the
 * requests in flight carry anyway; nothing of them is written anywhere.
 */
const INDEX_MEMO = 1024;

/**
 * Two generations of at most `INDEX_MEMO` entries each: bounded, and what is in use stays. `get`
 * moves an older entry back into the recent generation; `set` returns the value it keeps.
 */
function recentMemo<V>() {
  let recent = new Map<string, V>();
  let older = new Map<string, V>();
  const set = (key: string, value: V): V => {
    if (recent.size >= INDEX_MEMO) {
      older = recent;
      recent = new Map();
    }
    recent.set(key, value);
    return value;
  };
  return {
    get(key: string): V | undefined {
      const hit = recent.get(key);
      if (hit !== undefined) return hit;
      const old = older.get(key);
      return old === undefined ? undefined : set(key, old);
    },
    set,
  };
}

export function createNumberVault(secret: string): NumberVault {
  const indexKeyBytes = deriveKey(secret, "verifyd/number-index/v1");
  const sealKeyBytes = deriveKey(secret, "verifyd/number-seal/v1");
  // Not secret: a fingerprint of the sealing key, 1 in 256 chance of two keys sharing it (GCM still refuses).
  const keyId = createHash("sha256").update(sealKeyBytes).digest()[0] as number;
  const indexKey = createSecretKey(indexKeyBytes);
  const sealKey = createSecretKey(sealKeyBytes);
  const aad = (context: string) => Buffer.from(`verifyd/at-rest/${context}`, "utf8");

  const indexes = recentMemo<string>();
  const index = (value: string): string =>
    indexes.get(value) ?? indexes.set(value, createHmac("sha256", indexKey).update(value, "utf8").digest("base64url"));

  const seal = (plaintext: string, context: string): Buffer => {
    const box = sealInto(sealKey, HEADER, aad(context), Buffer.from(plaintext, "utf8"));
    box[0] = VERSION;
    box[1] = keyId;
    return box;
  };
  const openBox = (sealed: Buffer, context: string): string => {
    if (sealed.length < HEADER + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new Error("not a sealed value");
    if (sealed[1] !== keyId) throw new SealedElsewhereError(sealed[1] as number);
    return openFrom(sealKey, HEADER, aad(context), sealed).toString("utf8");
  };
  // Opened numbers (and addresses), by context and bytes: a check reads its verification's row twice
  // (the lookup, then the counted attempt), each time with the number sealed in it. Only bytes that
  // opened (their tag verified) are kept, so a hit returns what the same bytes opened to before.
  // Sealed texts (event payloads, webhook secrets) are opened once each and not kept.
  const opened = recentMemo<string>();
  const open = (sealed: Buffer, context: string): string => {
    const key = `${context}\u0000${sealed.toString("base64")}`;
    return opened.get(key) ?? opened.set(key, openBox(sealed, context));
  };

  return {
    keyId,
    index,
    seal,
    open,
    sealText: (plaintext, context) => SEALED_TEXT_PREFIX + seal(plaintext, context).toString("base64url"),
    openText(stored, context) {
      if (!stored.startsWith(SEALED_TEXT_PREFIX)) throw new Error("not a sealed text");
      return openBox(Buffer.from(stored.slice(SEALED_TEXT_PREFIX.length), "base64url"), context);
    },
  };
}
