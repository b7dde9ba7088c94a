import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from "node:crypto";

/**
 * Everything that touches a code in clear: generation, keyed hashing, sealing for the outbox.
 * Two keys are derived from `VERIFYD_SECRET` with HKDF, so the database alone never yields a code.
 */

const DIGITS = "0123456789";

/** A uniform code from the CSPRNG: `randomInt` rejects biased samples, unlike `byte % 10`. */
export function generateCode(length: number, alphabet: string = DIGITS): string {
  let code = "";
  for (let i = 0; i < length; i++) code += alphabet[randomInt(alphabet.length)];
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

/** AES-256-GCM: random 96-bit IV ‖ 128-bit tag ‖ ciphertext. `aad` binds the box to its owner (a row id). */
export function sealBytes(key: Buffer, aad: string, plaintext: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Opens a `sealBytes` box; throws when the key, the associated data or any byte differs. */
export function openBytes(key: Buffer, aad: string, sealed: Buffer): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad, "utf8"));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/** The length in bytes of the code inside a `seal`ed box: GCM adds its IV and tag, and hides nothing else. */
export function sealedCodeLength(sealed: Buffer): number {
  return sealed.length - IV_BYTES - TAG_BYTES;
}

export function createCodeKit(secret: string): CodeKit {
  const hashKey = deriveKey(secret, "verifyd/code-hash/v1");
  const sealKey = deriveKey(secret, "verifyd/code-seal/v1");
  const inboundKey = deriveKey(secret, "verifyd/inbound-code-hash/v1");

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
