import type Database from "better-sqlite3";
import { type NumberVault, SEALED_TEXT_PREFIX } from "../../core/number-vault.js";
import { answeredVerificationId, NUMBER_KEYED_RULES, sealedContext } from "../at-rest.js";
import { KEY_CHECK_CONTEXT, KEY_CHECK_TEXT, VaultKeyMismatchError } from "../vault-key.js";

/**
 * The key the database's numbers are sealed with, and the one-time sealing of rows written in
 * clear by versions before numbers were sealed. A migration cannot do it (SQL has no key), so it
 * runs in code, in one transaction, the first time a store opens the database with a key.
 */

export type KeyState = "absent" | "current" | "other";

/** Whether `vault` opened the stored key check: `absent` before the first sealing pass. */
export function keyState(raw: Database.Database, vault: NumberVault): KeyState {
  const row = raw.prepare("select key_check from vault_state where id = 1").get() as { key_check: Buffer } | undefined;
  if (!row) return "absent";
  try {
    return vault.open(row.key_check, KEY_CHECK_CONTEXT) === KEY_CHECK_TEXT ? "current" : "other";
  } catch {
    return "other";
  }
}

export function writeKeyCheck(raw: Database.Database, vault: NumberVault, now: number): void {
  raw
    .prepare("insert or replace into vault_state (id, key_check, updated_at) values (1, ?, ?)")
    .run(vault.seal(KEY_CHECK_TEXT, KEY_CHECK_CONTEXT), now);
}

export interface SealedCounts {
  verifications: number;
  optOuts: number;
  events: number;
  idempotencyKeys: number;
  rateLimits: number;
}

/**
 * Makes sure every number at rest is sealed with `vault`: seals plaintext rows once (while
 * `vault_state` is empty), then checks the key. Throws `VaultKeyMismatchError` when the database was
 * sealed with another secret, so a changed secret never mixes two keys in one table.
 * Safe from several processes at once (an immediate transaction; the second finds the key check).
 */
export function ensureSealed(raw: Database.Database, vault: NumberVault, now: number): SealedCounts | null {
  const pass = raw.transaction(() => {
    const state = keyState(raw, vault);
    if (state === "other") throw new VaultKeyMismatchError();
    if (state === "current") return null;
    const counts = sealPlaintextRows(raw, vault);
    writeKeyCheck(raw, vault, now);
    return counts;
  });
  return scrubbing(raw, () => pass.immediate());
}

/**
 * Runs a rewrite of secret columns so that the values it replaces do not linger on disk: SQLite's
 * `secure_delete` zeroes the space they free, and a truncating checkpoint then copies the new pages
 * over the old ones in the database file and empties the WAL that still held old page images.
 */
export function scrubbing<T>(raw: Database.Database, rewrite: () => T): T {
  const before = raw.pragma("secure_delete", { simple: true }) as number;
  raw.pragma("secure_delete = ON");
  try {
    return rewrite();
  } finally {
    raw.pragma(`secure_delete = ${before ? "ON" : "OFF"}`);
    raw.pragma("wal_checkpoint(TRUNCATE)");
  }
}

const isSealedText = (text: string) => text.startsWith(SEALED_TEXT_PREFIX);

/** Seals what earlier versions stored in clear; each row is found by its sealed column being empty. */
function sealPlaintextRows(raw: Database.Database, vault: NumberVault): SealedCounts {
  const counts: SealedCounts = { verifications: 0, optOuts: 0, events: 0, idempotencyKeys: 0, rateLimits: 0 };

  const verifications = raw
    .prepare(
      `select id, to_number, verified_number from verifications
       where (to_sealed is null and to_number <> '') or (verified_number is not null and verified_number_sealed is null)`,
    )
    .all() as { id: string; to_number: string; verified_number: string | null }[];
  const setTo = raw.prepare("update verifications set to_number = ?, to_sealed = ? where id = ?");
  const setVerified = raw.prepare("update verifications set verified_number = ?, verified_number_sealed = ? where id = ?");
  for (const r of verifications) {
    // Plaintext numbers are E.164 (`+…`); a blind index never contains `+`.
    if (r.to_number.startsWith("+"))
      setTo.run(vault.index(r.to_number), vault.seal(r.to_number, sealedContext.destination(r.id)), r.id);
    if (r.verified_number?.startsWith("+")) {
      const sealed = vault.seal(r.verified_number, sealedContext.verifiedNumber(r.id));
      setVerified.run(vault.index(r.verified_number), sealed, r.id);
    }
    counts.verifications++;
  }

  const optOuts = raw.prepare("select phone, channel from opt_outs where phone_sealed is null").all() as {
    phone: string;
    channel: string;
  }[];
  const setOptOut = raw.prepare("update opt_outs set phone = ?, phone_sealed = ? where phone = ? and channel = ?");
  for (const r of optOuts) {
    const index = vault.index(r.phone);
    setOptOut.run(index, vault.seal(r.phone, sealedContext.optOut(index)), r.phone, r.channel);
    counts.optOuts++;
  }

  const events = raw.prepare("select id, payload from events").all() as { id: string; payload: string }[];
  const setPayload = raw.prepare("update events set payload = ? where id = ?");
  for (const r of events.filter((e) => !isSealedText(e.payload))) {
    setPayload.run(vault.sealText(r.payload, sealedContext.eventPayload(r.id)), r.id);
    counts.events++;
  }

  const keys = raw.prepare("select service_id, key, fingerprint, response_body from idempotency_keys").all() as {
    service_id: string;
    key: string;
    fingerprint: string;
    response_body: string | null;
  }[];
  const setKey = raw.prepare(
    "update idempotency_keys set fingerprint = ?, response_body = ?, verification_id = ? where service_id = ? and key = ?",
  );
  for (const r of keys.filter((k) => !isSealedText(k.fingerprint))) {
    const body = r.response_body;
    setKey.run(
      vault.sealText(r.fingerprint, sealedContext.idempotentFingerprint(r.service_id, r.key)),
      body === null ? null : vault.sealText(body, sealedContext.idempotentBody(r.service_id, r.key)),
      body === null ? null : answeredVerificationId(body),
      r.service_id,
      r.key,
    );
    counts.idempotencyKeys++;
  }

  // rate-limiter-flexible keys are `<rule>:<key>`; number keys and prefixes start with `+`.
  const renameLimit = raw.prepare("update or replace rate_limits set key = ? where key = ?");
  for (const rule of NUMBER_KEYED_RULES) {
    const rows = raw.prepare("select key from rate_limits where key like ?").pluck().all(`${rule}:+%`) as string[];
    for (const key of rows) {
      renameLimit.run(`${rule}:${vault.index(key.slice(rule.length + 1))}`, key);
      counts.rateLimits++;
    }
  }
  return counts;
}
