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
  /** HMAC-SHA256 over the verification id and the code: a digest is useless for any other verification. */
  hash(verificationId: string, code: string): Buffer;
  /** Constant-time comparison of a candidate code against a stored digest. */
  matches(stored: Buffer, verificationId: string, candidate: string): boolean;
  /** AES-256-GCM with the verification id as associated data. */
  seal(verificationId: string, code: string): Buffer;
  open(verificationId: string, sealed: Buffer): string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Candidates longer than any code are cut before hashing, so the work done does not depend on input size. */
const MAX_CANDIDATE = 64;

export function createCodeKit(secret: string): CodeKit {
  const ikm = Buffer.from(secret, "utf8");
  const salt = Buffer.from("verifyd", "utf8");
  const hashKey = Buffer.from(hkdfSync("sha256", ikm, salt, "verifyd/code-hash/v1", 32));
  const sealKey = Buffer.from(hkdfSync("sha256", ikm, salt, "verifyd/code-seal/v1", 32));

  const hash = (verificationId: string, code: string): Buffer =>
    createHmac("sha256", hashKey).update(verificationId).update("\0").update(code).digest();

  return {
    hash,
    matches(stored, verificationId, candidate) {
      const digest = hash(verificationId, candidate.slice(0, MAX_CANDIDATE));
      return stored.length === digest.length && timingSafeEqual(stored, digest);
    },
    seal(verificationId, code) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", sealKey, iv);
      cipher.setAAD(Buffer.from(verificationId, "utf8"));
      const body = Buffer.concat([cipher.update(code, "utf8"), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    open(verificationId, sealed) {
      const decipher = createDecipheriv("aes-256-gcm", sealKey, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(verificationId, "utf8"));
      decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
    },
  };
}
