import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomFillSync,
  randomInt,
  timingSafeEqual,
} from "node:crypto";

/**
 * Everything that touches a code in clear: generation, keyed hashing, sealing for the outbox.
 * Two keys are derived from `VERIFYD_SECRET` with HKDF, so the database alone never yields a code.
 */

const DIGITS = "0123456789";

/** `randomInt`'s range must stay under 2^48. */
const DRAW_RANGE = 2 ** 48;

/**
 * A uniform code from the CSPRNG: `randomInt` rejects biased samples, unlike `byte % 10`. One draw
 * covers as many characters as its range holds (all six digits of the usual code): a uniform number
 * below base^n, written in base n, is n uniform and independent characters, at one call instead of n.
 */
export function generateCode(length: number, alphabet: string = DIGITS): string {
  const base = alphabet.length;
  let code = "";
  for (let left = length; left > 0; ) {
    let chars = 1;
    while (chars < left && base ** (chars + 1) < DRAW_RANGE) chars++;
    let draw = randomInt(base ** chars);
    let part = "";
    for (let i = 0; i < chars; i++) {
      part = alphabet[draw % base] + part;
      draw = Math.floor(draw / base);
    }
    code += part;
    left -= chars;
  }
  return code;
}

export interface CodeKit {
  /**
   * HMAC-SHA256 over the verification id and the code: a digest is useless for any other verification.
   * `binding` (a transaction's amount and payee) is covered too, so the code approves only that payment.
   */
  hash(verificationId: string, code: string, binding?: string | null): Buffer;
  /** Constant-time comparison of a candidate code (and the binding presented with it) against a stored digest. */
  matches(stored: Buffer, verificationId: string, candidate: string, binding?: string | null): boolean;
  /** AES-256-GCM with the verification id as associated data. */
  seal(verificationId: string, code: string): Buffer;
  open(verificationId: string, sealed: Buffer): string;
  /**
   * HMAC-SHA256 of a normalized inbound code alone (no verification id), so a code arriving in a user's
   * message can be looked up by its digest. A key of its own, apart from the per-verification hashes.
   */
  inboundHash(code: string): Buffer;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Candidates longer than any code are cut before hashing, so the work done does not depend on input size. */
const MAX_CANDIDATE = 64;

/** A 256-bit key for one purpose (`info`), derived from `VERIFYD_SECRET` with HKDF-SHA256. */
export function deriveKey(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.from("verifyd", "utf8"), info, 32));
}

/** A derived key as a KeyObject: the cipher and HMAC calls on the hot paths then skip importing raw key bytes. */
export function deriveKeyObject(secret: string, info: string): KeyObject {
  return createSecretKey(deriveKey(secret, info));
}

/**
 * 96-bit GCM nonces from the CSPRNG, drawn `NONCES` at a time: a `randomBytes(12)` call per seal cost
 * as much as the encryption itself. Every nonce is handed out once and is as random as one drawn
 * alone; nonces are public (they are stored in front of each box), so holding the next few is harmless.
 */
const NONCES = 256;
const noncePool = Buffer.alloc(IV_BYTES * NONCES);
let noncesUsed = NONCES;

/** Writes a fresh random nonce into `target` at `offset`. */
export function writeNonce(target: Buffer, offset: number): void {
  if (noncesUsed === NONCES) {
    randomFillSync(noncePool);
    noncesUsed = 0;
  }
  const from = noncesUsed++ * IV_BYTES;
  noncePool.copy(target, offset, from, from + IV_BYTES);
}

/**
 * AES-256-GCM into one buffer: `header` bytes (left for the caller), then a random 96-bit nonce, the
 * 128-bit tag and the ciphertext. `aad` binds the box to its owner.
 */
export function sealInto(key: Buffer | KeyObject, header: number, aad: Buffer, plaintext: Buffer): Buffer {
  const box = Buffer.allocUnsafe(header + IV_BYTES + TAG_BYTES + plaintext.length);
  writeNonce(box, header);
  const cipher = createCipheriv("aes-256-gcm", key, box.subarray(header, header + IV_BYTES));
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const rest = cipher.final(); // GCM is a stream mode: empty
  body.copy(box, header + IV_BYTES + TAG_BYTES);
  rest.copy(box, header + IV_BYTES + TAG_BYTES + body.length);
  cipher.getAuthTag().copy(box, header + IV_BYTES);
  return box;
}

/** Opens the box `sealInto` wrote after `header` bytes; throws when the key, the associated data or any byte differs. */
export function openFrom(key: Buffer | KeyObject, header: number, aad: Buffer, sealed: Buffer): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(header, header + IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(header + IV_BYTES, header + IV_BYTES + TAG_BYTES));
  const body = decipher.update(sealed.subarray(header + IV_BYTES + TAG_BYTES));
  const rest = decipher.final(); // verifies the tag
  return rest.length === 0 ? body : Buffer.concat([body, rest]);
}

/** AES-256-GCM: random 96-bit IV ‖ 128-bit tag ‖ ciphertext. `aad` binds the box to its owner (a row id). */
export function sealBytes(key: Buffer | KeyObject, aad: string, plaintext: Buffer): Buffer {
  return sealInto(key, 0, Buffer.from(aad, "utf8"), plaintext);
}

/** Opens a `sealBytes` box; throws when the key, the associated data or any byte differs. */
export function openBytes(key: Buffer | KeyObject, aad: string, sealed: Buffer): Buffer {
  return openFrom(key, 0, Buffer.from(aad, "utf8"), sealed);
}

/** The length in bytes of the code inside a `seal`ed box: GCM adds its IV and tag, and hides nothing else. */
export function sealedCodeLength(sealed: Buffer): number {
  return sealed.length - IV_BYTES - TAG_BYTES;
}

export function createCodeKit(secret: string): CodeKit {
  const hashKey = deriveKeyObject(secret, "verifyd/code-hash/v1");
  const sealKey = deriveKeyObject(secret, "verifyd/code-seal/v1");
  const inboundKey = deriveKeyObject(secret, "verifyd/inbound-code-hash/v1");

  const hash = (verificationId: string, code: string, binding?: string | null): Buffer => {
    const hmac = createHmac("sha256", hashKey).update(verificationId).update("\0").update(code);
    // Unbound codes keep the original digest; a candidate holding NUL is refused below, so no code can mimic a binding.
    if (binding != null) hmac.update("\0txn\0").update(binding);
    return hmac.digest();
  };

  return {
    hash,
    matches(stored, verificationId, candidate, binding) {
      const clean = !candidate.includes("\0");
      const digest = hash(verificationId, candidate.slice(0, MAX_CANDIDATE), binding);
      if (!clean) return false;
      return stored.length === digest.length && timingSafeEqual(stored, digest);
    },
    seal: (verificationId, code) => sealBytes(sealKey, verificationId, Buffer.from(code, "utf8")),
    open: (verificationId, sealed) => openBytes(sealKey, verificationId, sealed).toString("utf8"),
    inboundHash: (code) => createHmac("sha256", inboundKey).update(code.slice(0, MAX_CANDIDATE)).digest(),
  };
}
