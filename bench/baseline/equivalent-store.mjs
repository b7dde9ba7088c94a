// The equivalent baseline's database schema and its at-rest crypto, shared by the server
// (equivalent.mjs) and the bench's seeder (lib/seeding.mjs), so seeded rows are stored as the server
// stores its own: the number as a keyed blind index plus an AES-256-GCM sealed copy.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomFillSync } from "node:crypto";
import Database from "better-sqlite3";

/**
 * - `verifications`: keyed by a UUIDv7 id (time-ordered, so inserts append); at most one pending row
 *   per number through the partial unique index, which is also what makes a start on a live number a
 *   resend. The code is kept as an HMAC bound to the id plus a sealed copy for resends and redelivery;
 *   both are wiped when the verification closes.
 * - `outbox`: one row per message handed to the channel, written with the verification and deleted
 *   once the channel has it; rows left by a crash are sent again at start-up.
 * - `counters`: fixed-window limit counters, one row per (rule, key), counted in the same transaction
 *   as the write they admit.
 * - `api_keys`: the SHA-256 of each key, never the key.
 */
export const SCHEMA = `
create table if not exists api_keys (
  id text primary key,
  prefix text not null,
  secret_hash blob not null unique,
  revoked_at integer
);
create table if not exists verifications (
  id text primary key,
  to_index blob not null,
  to_sealed blob not null,
  country text not null,
  status text not null,
  code_hash blob,
  code_sealed blob,
  checks integer not null default 0,
  sends integer not null default 1,
  created_at integer not null,
  updated_at integer not null,
  expires_at integer not null,
  last_sent_at integer not null,
  approved_at integer
) without rowid;
create unique index if not exists verifications_one_pending on verifications (to_index) where status = 'pending';
create table if not exists outbox (
  id integer primary key,
  verification_id text not null,
  created_at integer not null
);
create table if not exists counters (
  rule integer not null,
  key blob not null,
  window_start integer not null,
  n integer not null,
  primary key (rule, key)
) without rowid;
`;

/** Opens (and creates) the database as the server runs it: WAL, synchronous=NORMAL. */
export function openDatabase(file) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(SCHEMA);
  return db;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The keys, derived from one secret with HKDF: one for blind indexes, one for code hashes, one for
 * sealing. `seal`/`open` bind a value to its row through the additional data (the verification id),
 * so a sealed copy moved to another row does not open.
 */
export function createVault(secret) {
  const derive = (info) => Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), "verifyd-equivalent", info, KEY_BYTES));
  const indexKey = createSecretKey(derive("blind-index"));
  const codeKey = createSecretKey(derive("code-hash"));
  const sealKey = createSecretKey(derive("seal"));

  // Nonces come from a pool refilled from the CSPRNG, one call per 340 seals instead of one each.
  const pool = Buffer.allocUnsafe(IV_BYTES * 340);
  let used = pool.length;
  const nonce = () => {
    if (used === pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    used += IV_BYTES;
    return pool.subarray(used - IV_BYTES, used);
  };

  return {
    /** HMAC-SHA256 of `text` under the index key: equal inputs give equal indexes, nothing else leaks. */
    index: (text) => createHmac("sha256", indexKey).update(text).digest(),
    /** HMAC-SHA256 of a code bound to its verification id. */
    codeHash: (id, code) => createHmac("sha256", codeKey).update(id).update("\0").update(code).digest(),
    /** AES-256-GCM: nonce ‖ ciphertext ‖ tag. */
    seal(text, context) {
      const iv = nonce();
      const cipher = createCipheriv("aes-256-gcm", sealKey, iv);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([iv, cipher.update(text, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return body;
    },
    open(sealed, context) {
      const decipher = createDecipheriv("aes-256-gcm", sealKey, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    },
  };
}

/** The number without its last `digits` digits: the key of the per-prefix send limit. */
export const numberPrefix = (e164, digits = 4) => e164.slice(0, Math.max(2, e164.length - digits));
