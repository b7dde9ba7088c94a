import type Database from "better-sqlite3";
import { numberPrefix } from "../../core/abuse.js";
import { createCodeKit } from "../../core/codes.js";
import { conversionKeys } from "../../core/conversion-rules.js";
import { createNumberVault } from "../../core/number-vault.js";
import { createTotpSealer } from "../../core/totp.js";
import { NUMBER_KEYED_RULES, sealedContext, storedApprovedDestination, storedConversionKey } from "../at-rest.js";
import { VaultKeyMismatchError } from "../vault-key.js";
import { ensureSealed, keyState, scrubbing, writeKeyCheck } from "./vault-state.js";

export interface RotationCounts {
  verifications: number;
  /** Pending verifications whose code could not be carried over (inbound: only a hash of the code is kept). */
  expired: number;
  optOuts: number;
  events: number;
  idempotencyKeys: number;
  factors: number;
  /** Rate-limit counters carried to the new index; counters of numbers no row names any more are dropped. */
  rateLimits: number;
  droppedRateLimits: number;
  /** The conversion guard's history of prefixes, ranges and numbers, carried or dropped alike. */
  conversionHistory: number;
  droppedConversionHistory: number;
}

/**
 * Re-keys everything sealed or keyed with `previous` (a former VERIFYD_SECRET) to `current`, in one
 * transaction, while verifyd is stopped: sealed numbers and their blind indexes, event payloads,
 * stored idempotent answers, TOTP secrets, and pending codes (re-hashed and re-sealed from the sealed
 * code). Returns null when the database already uses `current`.
 */
export function rotateSqliteKey(
  raw: Database.Database,
  input: { previous: string; current: string; prefixDigits?: number; now: number },
): RotationCounts | null {
  const from = createNumberVault(input.previous);
  const to = createNumberVault(input.current);
  if (keyState(raw, to) === "current") return null;
  // Rows left in clear by earlier versions are sealed with the old key first, which also checks it.
  ensureSealed(raw, from, input.now);
  const codesFrom = createCodeKit(input.previous);
  const codesTo = createCodeKit(input.current);
  const totpFrom = createTotpSealer(input.previous);
  const totpTo = createTotpSealer(input.current);
  const counts: RotationCounts = {
    verifications: 0,
    expired: 0,
    optOuts: 0,
    events: 0,
    idempotencyKeys: 0,
    factors: 0,
    rateLimits: 0,
    droppedRateLimits: 0,
    conversionHistory: 0,
    droppedConversionHistory: 0,
  };
  // Old index → new index of every number still named by a row (and of its prefix), for the counters;
  // likewise the conversion guard's keys of the number, its prefix and its range, for its history.
  const indexes = new Map<string, string>();
  const historyKeys = new Map<string, string>();
  const remember = (number: string) => {
    indexes.set(from.index(number), to.index(number));
    const prefix = numberPrefix(number, input.prefixDigits);
    indexes.set(from.index(prefix), to.index(prefix));
    const id = (scope: string, key: string) => `${scope}\u0000${key}`;
    historyKeys.set(id("destination", storedApprovedDestination(from, number).key), storedApprovedDestination(to, number).key);
    for (const k of conversionKeys(number, null, input.prefixDigits))
      historyKeys.set(id(k.scope, storedConversionKey(from, k.scope, k.key)), storedConversionKey(to, k.scope, k.key));
  };

  const tx = raw.transaction(() => {
    if (keyState(raw, from) !== "current") throw new VaultKeyMismatchError();
    const rows = raw
      .prepare(
        `select id, status, to_sealed, verified_number_sealed, code_hash, sealed_code, inbound_code_hash from verifications
         where to_sealed is not null or verified_number_sealed is not null or code_hash is not null
           or sealed_code is not null or inbound_code_hash is not null`,
      )
      .all() as {
      id: string;
      status: string;
      to_sealed: Buffer | null;
      verified_number_sealed: Buffer | null;
      code_hash: Buffer | null;
      sealed_code: Buffer | null;
      inbound_code_hash: Buffer | null;
    }[];
    const setTo = raw.prepare("update verifications set to_number = ?, to_sealed = ? where id = ?");
    const setVerified = raw.prepare("update verifications set verified_number = ?, verified_number_sealed = ? where id = ?");
    const setCode = raw.prepare("update verifications set code_hash = ?, sealed_code = ? where id = ?");
    const expire = raw.prepare(
      `update verifications set status = case when status = 'pending' then 'expired' else status end,
         code_hash = null, sealed_code = null, inbound_code_hash = null, updated_at = ? where id = ?`,
    );
    for (const r of rows) {
      if (r.to_sealed) {
        const number = from.open(r.to_sealed, sealedContext.destination(r.id));
        remember(number);
        setTo.run(to.index(number), to.seal(number, sealedContext.destination(r.id)), r.id);
      }
      if (r.verified_number_sealed) {
        const number = from.open(r.verified_number_sealed, sealedContext.verifiedNumber(r.id));
        remember(number);
        setVerified.run(to.index(number), to.seal(number, sealedContext.verifiedNumber(r.id)), r.id);
      }
      if (r.sealed_code) {
        const code = codesFrom.open(r.id, r.sealed_code);
        setCode.run(codesTo.hash(r.id, code), codesTo.seal(r.id, code), r.id);
      } else if (r.code_hash || r.inbound_code_hash) {
        // Only a digest of this code exists (inbound, person-to-application): it cannot follow the key.
        expire.run(input.now, r.id);
        if (r.status === "pending") counts.expired++;
      }
      counts.verifications++;
    }

    const optOuts = raw.prepare("select phone, channel, phone_sealed from opt_outs where phone_sealed is not null").all() as {
      phone: string;
      channel: string;
      phone_sealed: Buffer;
    }[];
    const setOptOut = raw.prepare("update opt_outs set phone = ?, phone_sealed = ? where phone = ? and channel = ?");
    for (const r of optOuts) {
      const number = from.open(r.phone_sealed, sealedContext.optOut(r.phone));
      remember(number);
      const index = to.index(number);
      setOptOut.run(index, to.seal(number, sealedContext.optOut(index)), r.phone, r.channel);
      counts.optOuts++;
    }

    const events = raw.prepare("select id, payload from events").all() as { id: string; payload: string }[];
    const setPayload = raw.prepare("update events set payload = ? where id = ?");
    for (const r of events) {
      const context = sealedContext.eventPayload(r.id);
      setPayload.run(to.sealText(from.openText(r.payload, context), context), r.id);
      counts.events++;
    }

    const keys = raw.prepare("select service_id, key, fingerprint, response_body from idempotency_keys").all() as {
      service_id: string;
      key: string;
      fingerprint: string;
      response_body: string | null;
    }[];
    const setKey = raw.prepare("update idempotency_keys set fingerprint = ?, response_body = ? where service_id = ? and key = ?");
    for (const r of keys) {
      const fp = sealedContext.idempotentFingerprint(r.service_id, r.key);
      const body = sealedContext.idempotentBody(r.service_id, r.key);
      setKey.run(
        to.sealText(from.openText(r.fingerprint, fp), fp),
        r.response_body === null ? null : to.sealText(from.openText(r.response_body, body), body),
        r.service_id,
        r.key,
      );
      counts.idempotencyKeys++;
    }

    const factors = raw.prepare("select id, sealed_secret from factors").all() as { id: string; sealed_secret: Buffer }[];
    const setFactor = raw.prepare("update factors set sealed_secret = ? where id = ?");
    for (const r of factors) {
      setFactor.run(totpTo.seal(r.id, totpFrom.open(r.id, r.sealed_secret)), r.id);
      counts.factors++;
    }

    // A blind index cannot be opened: counters are carried over only for numbers some row still names.
    const renameLimit = raw.prepare("update or replace rate_limits set key = ? where key = ?");
    const dropLimit = raw.prepare("delete from rate_limits where key = ?");
    for (const rule of NUMBER_KEYED_RULES) {
      const limitKeys = raw
        .prepare("select key from rate_limits where substr(key, 1, ?) = ?")
        .pluck()
        .all(rule.length + 1, `${rule}:`);
      for (const key of limitKeys as string[]) {
        const next = indexes.get(key.slice(rule.length + 1));
        if (next) {
          renameLimit.run(`${rule}:${next}`, key);
          counts.rateLimits++;
        } else {
          dropLimit.run(key);
          counts.droppedRateLimits++;
        }
      }
    }
    // Conversion counters of prefixes and ranges restart (they span an hour); a block keeps its sealed key.
    raw.prepare("delete from conversion_counts where scope <> 'country'").run();
    // Channel memory keeps no sealed copy to re-index from: it starts over (it only saves sends).
    raw.prepare("delete from channel_memory").run();
    const blocks = raw.prepare("select id, scope, key_sealed from abuse_blocks where key_sealed is not null").all() as {
      id: string;
      scope: string;
      key_sealed: string;
    }[];
    const setBlock = raw.prepare("update abuse_blocks set key = ?, key_sealed = ? where id = ?");
    for (const r of blocks) {
      const key = from.openText(r.key_sealed, sealedContext.abuseBlockKey(r.id));
      setBlock.run(storedConversionKey(to, r.scope, key), to.sealText(key, sealedContext.abuseBlockKey(r.id)), r.id);
    }
    // The history of a prefix, range or number follows when a row still names a number of it.
    const history = raw.prepare("select scope, key from conversion_history where scope <> 'country'").all() as {
      scope: string;
      key: string;
    }[];
    const renameHistory = raw.prepare("update or replace conversion_history set key = ? where scope = ? and key = ?");
    const dropHistory = raw.prepare("delete from conversion_history where scope = ? and key = ?");
    for (const r of history) {
      const next = historyKeys.get(`${r.scope}\u0000${r.key}`);
      if (next) {
        renameHistory.run(next, r.scope, r.key);
        counts.conversionHistory++;
      } else {
        dropHistory.run(r.scope, r.key);
        counts.droppedConversionHistory++;
      }
    }
    writeKeyCheck(raw, to, input.now);
  });
  // The old key's boxes are zeroed on disk too: the point of rotating may be that the old secret leaked.
  scrubbing(raw, () => tx.immediate());
  return counts;
}
