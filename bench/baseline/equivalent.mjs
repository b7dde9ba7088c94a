// The feature-equivalent baseline: an independent server on verifyd's stack (Hono, @hono/node-server,
// better-sqlite3, zod, libphonenumber-js, pino, uuidv7) doing the work a production verification must
// do, as cheaply as that stack allows, behind the HTTP surface the bench drives:
//
// - bodies validated with zod; the API key checked against its stored SHA-256 (cached for 5 s);
// - the number parsed with libphonenumber-js's full metadata, its line type screened (premium-rate and
//   the other types an SMS should not go to are refused); kept only as a blind index and a sealed copy;
// - a code from crypto.randomInt, stored as an HMAC bound to the id plus an AES-256-GCM sealed copy;
// - one pending verification per number (a partial unique index): a start on a live number is a resend,
//   with a cooldown and a cap on sends;
// - fixed-window limits per destination, prefix, country and API key, counted in SQLite in the same
//   transaction as the write they admit; failed checks counted per destination across verifications;
// - an outbox row written with the verification, the code handed to the channel in process (a
//   `<id> <code>` line on the capture FIFO, as verifyd's dryrun channel writes), then the row deleted;
// - one pino access-log line per request with the number masked, at the level verifyd runs at;
// - WAL, synchronous=NORMAL, prepared statements, and a group commit: one BEGIN IMMEDIATE … COMMIT per
//   turn of the event loop, each request answered only after the commit that holds its writes.
//
// Left out, because verifyd adds them beyond a verification: fallback routing across channels and
// providers, event webhooks, idempotency keys, the conversion guard, services, templates, metrics.
import { createHash, randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import { createWriteStream } from "node:fs";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { routePath } from "hono/route";
import { parsePhoneNumberWithError } from "libphonenumber-js/max";
import pino from "pino";
import { uuidv7 } from "uuidv7";
import { z } from "zod";
import { createVault, numberPrefix, openDatabase } from "./equivalent-store.mjs";

const env = process.env;
const CODE_LENGTH = 6;
const CODE_SPACE = 10 ** CODE_LENGTH;
const TTL_MS = 600_000;
const MAX_CHECKS = 5;
const MAX_SENDS = 5;
const RESEND_COOLDOWN_MS = 30_000;
const KEY_CACHE_MS = 5_000;
const MAX_BODY_BYTES = 16_384;
/** Line types an SMS code is never sent to (as verifyd screens SMS by default). */
const REFUSED_TYPES = new Set(["PREMIUM_RATE", "SHARED_COST", "TOLL_FREE", "UAN", "PAGER", "VOICEMAIL", "FIXED_LINE"]);

const UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** "count/window", e.g. "5/10m": the same form as verifyd's limit settings. */
function rate(name, fallback) {
  const text = env[name] ?? fallback;
  const m = /^(\d+)\/(\d*)([smhd])$/.exec(text);
  if (!m) throw new Error(`${name} must look like 5/10m, not "${text}"`);
  return { limit: Number(m[1]), windowMs: Number(m[2] || 1) * UNITS[m[3]] };
}
/** Limit rules by their number in the counters table. */
const RULES = [
  null,
  { name: "sends_per_destination", ...rate("LIMIT_SENDS_PER_DESTINATION", "5/10m") },
  { name: "sends_per_prefix", ...rate("LIMIT_SENDS_PER_PREFIX", "30/1h") },
  { name: "sends_per_country", ...rate("LIMIT_SENDS_PER_COUNTRY", "500/1h") },
  { name: "requests_per_key", ...rate("LIMIT_REQUESTS_PER_KEY", "6000/1m") },
  { name: "failed_checks_per_destination", ...rate("LIMIT_FAILED_CHECKS_PER_DESTINATION", "10/1h") },
];
const [, DESTINATION, PREFIX, COUNTRY, KEY, FAILED_CHECKS] = RULES.keys();
const windowOf = (rule, now) => now - (now % RULES[rule].windowMs);
const LONGEST_WINDOW_MS = Math.max(...RULES.slice(1).map((r) => r.windowMs));

const db = openDatabase(env.EQUIVALENT_DB ?? ":memory:");
const vault = createVault(env.EQUIVALENT_SECRET ?? "a secret only good for trying this out");
const log = pino({ level: env.LOG_LEVEL ?? "info", base: null, timestamp: pino.stdTimeFunctions.isoTime });
const capture = createWriteStream(env.CAPTURE_FILE ?? "/dev/null", { flags: "a" });

/** A refusal with its HTTP status and a machine-readable code. */
class Refusal extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------------
// Group commit: the first write of an event-loop turn opens BEGIN IMMEDIATE, a setImmediate commits
// it. Each operation runs in a savepoint (better-sqlite3 nests db.transaction() that way), so one that
// throws rolls back alone; its caller hears of it, like every other, only after the commit.

const sql = {
  begin: db.prepare("begin immediate"),
  commit: db.prepare("commit"),
  rollback: db.prepare("rollback"),
};
let batch = null;

function commitBatch() {
  const done = batch;
  batch = null;
  try {
    sql.commit.run();
    done.resolve();
  } catch (err) {
    if (db.inTransaction) sql.rollback.run();
    done.reject(err);
  }
}

/** Runs `operation(...args)` (a db.transaction) in this turn's batch; resolves to its result after the commit. */
async function inBatch(operation, ...args) {
  if (!batch) {
    sql.begin.run();
    batch = {};
    batch.committed = new Promise((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
    });
    setImmediate(commitBatch);
  }
  const { committed } = batch;
  let value;
  let failure;
  try {
    value = operation(...args);
  } catch (err) {
    failure = err;
  }
  await committed;
  if (failure) throw failure;
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Statements, prepared once.

const q = {
  apiKey: db.prepare("select id, prefix from api_keys where secret_hash = ? and revoked_at is null"),
  addApiKey: db.prepare("insert or ignore into api_keys (id, prefix, secret_hash) values (?, ?, ?)"),
  countOne: db.prepare(`insert into counters (rule, key, window_start, n) values (?, ?, ?, 1)
    on conflict (rule, key) do update set
      n = case when window_start = excluded.window_start then n + 1 else 1 end,
      window_start = excluded.window_start
    returning n`),
  countSend: db.prepare(`insert into counters (rule, key, window_start, n)
    values (${DESTINATION}, ?, ?, 1), (${PREFIX}, ?, ?, 1), (${COUNTRY}, ?, ?, 1), (${KEY}, ?, ?, 1)
    on conflict (rule, key) do update set
      n = case when window_start = excluded.window_start then n + 1 else 1 end,
      window_start = excluded.window_start
    returning rule, n`),
  clearFailedChecks: db.prepare(`delete from counters where rule = ${FAILED_CHECKS} and key = ?`),
  insert: db.prepare(`insert into verifications (id, to_index, to_sealed, country, status, code_hash, code_sealed,
      created_at, updated_at, expires_at, last_sent_at)
    values (@id, @toIndex, @toSealed, @country, 'pending', @codeHash, @codeSealed, @now, @now, @expiresAt, @now)
    on conflict do nothing`),
  pendingFor: db.prepare(`select id, sends, expires_at, last_sent_at, code_sealed, created_at
    from verifications where to_index = ? and status = 'pending'`),
  resent: db.prepare("update verifications set sends = sends + 1, last_sent_at = ?, updated_at = ? where id = ?"),
  close: db.prepare(`update verifications set status = ?, code_hash = null, code_sealed = null, updated_at = ?
    where id = ? and status = 'pending'`),
  // The attempt is counted only while the verification is pending, unexpired, under its check limit and
  // its number not locked out by failed checks (across verifications): one statement decides.
  countAttempt: db.prepare(`update verifications set checks = checks + 1, updated_at = @now
    where id = @id and status = 'pending' and expires_at > @now and checks < ${MAX_CHECKS}
      and coalesce((select n from counters where rule = ${FAILED_CHECKS} and key = verifications.to_index
        and window_start = @failWindow), 0) < ${RULES[FAILED_CHECKS].limit}
    returning code_hash, to_index, checks`),
  why: db.prepare("select status, expires_at, checks, to_index from verifications where id = ?"),
  approve: db.prepare(`update verifications set status = 'approved', approved_at = ?, updated_at = ?, code_hash = null,
      code_sealed = null where id = ? and status = 'pending'`),
  addOutbox: db.prepare("insert into outbox (verification_id, created_at) values (?, ?)"),
  dropOutbox: db.prepare("delete from outbox where id = ?"),
  unsent: db.prepare(`select o.id, o.verification_id, v.code_sealed, v.to_sealed from outbox o
    join verifications v on v.id = o.verification_id`),
  expirePending: db.prepare(`update verifications set status = 'expired', code_hash = null, code_sealed = null, updated_at = ?
    where id in (select id from verifications indexed by verifications_one_pending
      where status = 'pending' and expires_at <= ? limit 1000)`),
  purgeCounters: db.prepare("delete from counters where window_start < ?"),
};

/** Refuses with 429 when a counted value went over its rule's limit. */
function overLimit(rule, n) {
  if (n > RULES[rule].limit) throw new Refusal(429, "rate_limited", `${RULES[rule].name}: more than ${RULES[rule].limit}`);
}

// ---------------------------------------------------------------------------------------------------
// The transactions (synchronous; each runs inside the turn's batch).

/** Counts the send's limits, inserts the verification and its outbox row, or turns into a resend. */
const startTx = db.transaction((s) => {
  const { now } = s;
  for (const { rule, n } of q.countSend.all(
    s.toIndex,
    windowOf(DESTINATION, now),
    s.prefixIndex,
    windowOf(PREFIX, now),
    s.country,
    windowOf(COUNTRY, now),
    s.keyId,
    windowOf(KEY, now),
  ))
    overLimit(rule, n);
  if (q.insert.run(s).changes === 0) {
    // The partial unique index holds a pending verification for this number.
    const live = q.pendingFor.get(s.toIndex);
    if (live.expires_at <= now) {
      q.close.run("expired", now, live.id);
      q.insert.run(s);
    } else {
      if (live.sends >= MAX_SENDS) throw new Refusal(429, "max_sends_reached", "no more codes for this verification");
      if (now - live.last_sent_at < RESEND_COOLDOWN_MS)
        throw new Refusal(429, "resend_cooldown", "a code was sent to this number moments ago");
      q.resent.run(now, now, live.id);
      const outboxId = q.addOutbox.run(live.id, now).lastInsertRowid;
      return {
        outboxId,
        id: live.id,
        code: vault.open(live.code_sealed, live.id),
        sends: live.sends + 1,
        createdAt: live.created_at,
        expiresAt: live.expires_at,
      };
    }
  }
  const outboxId = q.addOutbox.run(s.id, now).lastInsertRowid;
  return { outboxId, id: s.id, code: s.code, sends: 1, createdAt: now, expiresAt: s.expiresAt };
});

const sentTx = db.transaction((outboxId) => q.dropOutbox.run(outboxId));

/** The attempt count, the comparison and the single approval of one check. */
const checkTx = db.transaction((id, presented, keyId, now) => {
  overLimit(KEY, q.countOne.get(KEY, keyId, windowOf(KEY, now)).n);
  const attempt = q.countAttempt.get({ id, now, failWindow: windowOf(FAILED_CHECKS, now) });
  if (!attempt) return refused(id, now);
  const left = MAX_CHECKS - attempt.checks;
  const stored = attempt.code_hash;
  if (stored && stored.length === presented.length && timingSafeEqual(stored, presented)) {
    if (q.approve.run(now, now, id).changes === 1) {
      q.clearFailedChecks.run(attempt.to_index); // a success clears the number's failures
      return { valid: true, status: "approved", reason: null, left: 0 };
    }
    return refused(id, now);
  }
  q.countOne.get(FAILED_CHECKS, attempt.to_index, windowOf(FAILED_CHECKS, now));
  if (left > 0) return { valid: false, status: "pending", reason: "wrong_code", left };
  q.close.run("max_attempts_reached", now, id);
  return { valid: false, status: "max_attempts_reached", reason: "wrong_code", left: 0 };
});

/** Why an attempt was not counted; closes a verification that has lapsed or used its checks. */
function refused(id, now) {
  const v = q.why.get(id);
  const no = { valid: false, left: 0 };
  if (!v) return { ...no, status: null, reason: "not_found" };
  if (v.status !== "pending") return { ...no, status: v.status, reason: v.status === "approved" ? "already_approved" : v.status };
  if (v.expires_at <= now) {
    q.close.run("expired", now, id);
    return { ...no, status: "expired", reason: "expired" };
  }
  if (v.checks >= MAX_CHECKS) {
    q.close.run("max_attempts_reached", now, id);
    return { ...no, status: "max_attempts_reached", reason: "max_attempts_reached" };
  }
  throw new Refusal(429, "rate_limited", "too many wrong codes for this number");
}

// ---------------------------------------------------------------------------------------------------
// Domain helpers outside the database.

function newCode() {
  return String(randomInt(CODE_SPACE)).padStart(CODE_LENGTH, "0");
}

/** E.164 and country of a number an SMS may go to; refuses what cannot exist or should not get a code. */
function destination(input) {
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(input);
  } catch {
    throw new Refusal(400, "invalid_phone_number", '"to" is not a phone number in E.164 form');
  }
  // With the full metadata, isValid() is getType() !== undefined: one type lookup answers both.
  const type = parsed.getType();
  if (!type) throw new Refusal(400, "invalid_phone_number", '"to" is not a valid number for its country');
  if (REFUSED_TYPES.has(type))
    throw new Refusal(403, "number_type_blocked", `codes are not sent to ${type.toLowerCase()} numbers`);
  return { e164: parsed.number, country: parsed.country ?? "001" };
}

const mask = (e164) => `${e164.slice(0, 5)}***${e164.slice(-4)}`;

/** Hands a code to the channel: here, a line on the capture file, as verifyd's dryrun channel does. */
function handOff(id, code) {
  capture.write(`${id} ${code}\n`);
}

const keyCache = new Map();
/** The API key behind a bearer token, by the SHA-256 stored for it; null when unknown or revoked. */
function apiKeyOf(bearer, now) {
  const digest = createHash("sha256").update(bearer).digest();
  const cacheKey = digest.toString("base64");
  const hit = keyCache.get(cacheKey);
  if (hit && hit.until > now) return hit.key;
  const key = q.apiKey.get(digest) ?? null;
  if (keyCache.size > 10_000) keyCache.clear();
  keyCache.set(cacheKey, { key, until: now + KEY_CACHE_MS });
  return key;
}

const iso = (ms) => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------------
// HTTP.

const StartBody = z.object({
  to: z.string().min(2).max(40),
  channel: z.literal("sms").optional(),
});
const CheckBody = z.object({ code: z.string().regex(/^\d{4,10}$/) });
const VerificationId = z.string().regex(/^ver_[0-9a-f]{32}$/);

async function body(c, schema) {
  const length = Number(c.req.header("content-length") ?? 0);
  if (length > MAX_BODY_BYTES) throw new Refusal(413, "payload_too_large", `bodies are at most ${MAX_BODY_BYTES} bytes`);
  let json;
  try {
    json = await c.req.json();
  } catch {
    throw new Refusal(400, "invalid_json", "the body is not valid JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Refusal(400, "invalid_request", parsed.error.issues[0]?.message ?? "invalid body");
  return parsed.data;
}

const app = new Hono();
app.get("/readyz", (c) => c.json({ status: "ready" }));

// Access log first, so it sees every answer (refusals included); then the API key.
app.use("/v1/*", async (c, next) => {
  const started = performance.now();
  await next();
  const key = c.get("key");
  log.info(
    {
      request_id: randomUUID(),
      method: c.req.method,
      route: routePath(c),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      key: key?.prefix,
      to: c.get("to"),
    },
    "request",
  );
});
app.use("/v1/*", async (c, next) => {
  const m = /^Bearer\s+(\S{1,256})\s*$/i.exec(c.req.header("authorization") ?? "");
  const key = m ? apiKeyOf(m[1], Date.now()) : null;
  if (!key) throw new Refusal(401, "unauthorized", "send a valid API key as Authorization: Bearer <key>");
  c.set("key", key);
  await next();
});

app.post("/v1/verifications", async (c) => {
  const input = await body(c, StartBody);
  const to = destination(input.to);
  c.set("to", mask(to.e164));
  const now = Date.now();
  const id = `ver_${uuidv7().replaceAll("-", "")}`;
  const code = newCode();
  const sent = await inBatch(startTx, {
    id,
    now,
    expiresAt: now + TTL_MS,
    toIndex: vault.index(to.e164),
    toSealed: vault.seal(to.e164, id),
    prefixIndex: vault.index(numberPrefix(to.e164)),
    country: to.country,
    keyId: c.get("key").id,
    code,
    codeHash: vault.codeHash(id, code),
    codeSealed: vault.seal(code, id),
  });
  // Committed: the message is durable in the outbox. Hand it over, then drop the outbox row in the
  // next batch (a crash before that sends it again at start-up: at least once).
  handOff(sent.id, sent.code);
  inBatch(sentTx, sent.outboxId).catch((err) => log.error({ err }, "outbox row not removed"));
  return c.json(
    {
      id: sent.id,
      to: to.e164,
      country: to.country,
      status: "pending",
      channel: "sms",
      send_attempts: sent.sends,
      max_sends: MAX_SENDS,
      created_at: iso(sent.createdAt),
      expires_at: iso(sent.expiresAt),
    },
    201,
  );
});

app.post("/v1/verifications/:id/check", async (c) => {
  const input = await body(c, CheckBody);
  const id = c.req.param("id");
  // An unknown or malformed id costs the same hash as a real comparison.
  const presented = vault.codeHash(id, input.code);
  const outcome = VerificationId.safeParse(id).success
    ? await inBatch(checkTx, id, presented, c.get("key").id, Date.now())
    : { valid: false, status: null, reason: "not_found", left: 0 };
  return c.json({ id, valid: outcome.valid, status: outcome.status, reason: outcome.reason, attempts_remaining: outcome.left });
});

app.onError((err, c) => {
  if (err instanceof Refusal) return c.json({ code: err.code, detail: err.message }, err.status);
  log.error({ err }, "unhandled error");
  return c.json({ code: "internal", detail: "internal error" }, 500);
});

// ---------------------------------------------------------------------------------------------------
// Start-up and housekeeping.

if (env.EQUIVALENT_API_KEY) {
  const digest = createHash("sha256").update(env.EQUIVALENT_API_KEY).digest();
  q.addApiKey.run("key_bench", env.EQUIVALENT_API_KEY.slice(0, 12), digest);
}

// Messages a crash left in the outbox are handed over again (their codes opened from the sealed copy).
for (const row of q.unsent.all()) {
  if (row.code_sealed) handOff(row.verification_id, vault.open(row.code_sealed, row.verification_id));
  q.dropOutbox.run(row.id);
}

const housekeeping = db.transaction((now) => {
  q.expirePending.run(now, now); // lapsed codes are wiped and their number's pending slot freed
  q.purgeCounters.run(now - LONGEST_WINDOW_MS);
});
setInterval(() => inBatch(housekeeping, Date.now()).catch((err) => log.error({ err }, "housekeeping failed")), 60_000).unref();

serve({ fetch: app.fetch, port: Number(env.PORT), hostname: "127.0.0.1" });
process.once("SIGTERM", () => capture.end(() => process.exit(0)));
