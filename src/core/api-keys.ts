import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** API keys look like `vfd_<43 base64url chars>`: 256 random bits, so a plain SHA-256 digest is a safe index. */
export function generateApiKey(): { key: string; prefix: string; secretHash: Buffer } {
  const key = `vfd_${randomBytes(32).toString("base64url")}`;
  return { key, prefix: key.slice(0, 12), secretHash: hashApiKey(key) };
}

export function hashApiKey(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

export function sameDigest(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
