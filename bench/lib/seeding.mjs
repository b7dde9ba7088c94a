// Pre-fills the bench databases with past verifications, so the scenarios can run on a database that
// looks like one that has served traffic for weeks. Direct SQLite inserts in large transactions; the
// verifyd schema comes from its own migrations (dist/), run first.
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createNumberVault } from "../../dist/core/number-vault.js";
import { sealedContext } from "../../dist/store/at-rest.js";
import { migrateSqlite, openSqlite } from "../../dist/store/sqlite/open.js";
import { writeKeyCheck } from "../../dist/store/sqlite/vault-state.js";
import { createVault, openDatabase as openEquivalent } from "../baseline/equivalent-store.mjs";

const DAY = 86_400_000;
const TTL = 600_000;
/** Rows span the last 29 days: inside the default 30 d retention, so the purge leaves them alone. */
const SPAN = 29 * DAY;
const BATCH = 50_000;
const DEFAULT_SERVICE = "svc_default";
/** Extra services sharing the database, each with a share of the rows (the default takes the rest). */
const SERVICES = [
  { id: "svc_seed_shop", share: 0.2 },
  { id: "svc_seed_bank", share: 0.1 },
  { id: "svc_seed_games", share: 0.05 },
];
const COUNTRIES = [
  { country: "US", prefix: "+1415", digits: 7, share: 0.35 },
  { country: "IN", prefix: "+9170", digits: 8, share: 0.25 },
  { country: "GB", prefix: "+447700", digits: 6, share: 0.15 },
  { country: "BR", prefix: "+55119", digits: 8, share: 0.15 },
  { country: "DE", prefix: "+49151", digits: 8, share: 0.1 },
];
/** Outcomes of closed verifications; rows younger than the code TTL are pending instead. */
const OUTCOMES = [
  { status: "approved", share: 0.72 },
  { status: "expired", share: 0.22 },
  { status: "max_attempts_reached", share: 0.03 },
  { status: "canceled", share: 0.02 },
  { status: "failed", share: 0.01 },
];

const pick = (list, roll) => {
  let acc = 0;
  for (const item of list) {
    acc += item.share;
    if (roll < acc) return item;
  }
  return list.at(-1);
};

/** Time-ordered ids like verifyd's (a prefix and 32 hex digits), unique per row index. */
const id = (prefix, ms, i) => `${prefix}_${ms.toString(16).padStart(12, "0")}${i.toString(16).padStart(20, "0")}`;

/**
 * THE place to adapt when the schema changes: one past verification (column name → value) and its
 * delivery. Row `i` of `rows`, created at `createdAt`; `ctx` has `now`, `route` (JSON) and, for
 * verifyd's database, the number `vault`: the number is stored as verifyd stores it (blind index and
 * sealed copy), so verifyd starts on the seeded file as on its own. Without a vault (the baselines),
 * the number stays in clear here.
 */
export function buildVerification(i, createdAt, ctx) {
  const rnd = ctx.random;
  const where = pick(COUNTRIES, rnd());
  const to = `${where.prefix}${String(i % 10 ** where.digits).padStart(where.digits, "0")}`;
  const service = pick([...SERVICES, { id: DEFAULT_SERVICE, share: 1 }], rnd()).id;
  const pending = createdAt > ctx.now - TTL;
  const status = pending ? "pending" : pick(OUTCOMES, rnd()).status;
  const approvedAt = status === "approved" ? createdAt + 5_000 + Math.floor(rnd() * 120_000) : null;
  const checks = status === "approved" ? 1 + (rnd() < 0.1 ? 1 : 0) : status === "max_attempts_reached" ? 5 : 0;
  const verificationId = id("ver", createdAt, i);
  const verification = {
    id: verificationId,
    service_id: service,
    to_number: ctx.vault ? ctx.vault.index(to) : to,
    ...(ctx.vault ? { to_sealed: ctx.vault.seal(to, sealedContext.destination(verificationId)) } : {}),
    country: where.country,
    status,
    code_hash: pending ? randomBytes(32) : null,
    sealed_code: pending ? randomBytes(44) : null,
    route: ctx.route,
    current_step: 0,
    sends: rnd() < 0.08 ? 2 : 1,
    checks,
    max_checks: 5,
    max_sends: 5,
    client_ip: `198.51.100.${i % 250}`,
    locale: null,
    created_at: createdAt,
    updated_at: approvedAt ?? (pending ? createdAt : createdAt + TTL),
    expires_at: createdAt + TTL,
    last_sent_at: createdAt,
    approved_at: approvedAt,
  };
  const delivered = status !== "failed";
  const delivery = {
    id: id("dlv", createdAt, i),
    verification_id: verificationId,
    step: 0,
    channel: "sms",
    provider: "dryrun",
    status: delivered ? "delivered" : "failed",
    provider_message_id: `seed-${i}`,
    error_code: delivered ? null : "http_400",
    tries: 1,
    created_at: createdAt,
    updated_at: createdAt + 2_000,
  };
  return { verification, delivery };
}

/** The baseline's single table (as bench/baseline/server.mjs creates it) and its row. */
const BASELINE_TABLE = `create table if not exists otp (id text primary key, to_number text not null, code_hash blob not null,
  status text not null, checks integer not null default 0, expires_at integer not null)`;
const baselineRow = ({ verification: v }) => ({
  id: v.id,
  to_number: v.to_number,
  code_hash: v.code_hash ?? Buffer.alloc(0),
  status: v.status,
  checks: v.checks,
  expires_at: v.expires_at,
});

/** The equivalent baseline's row (bench/baseline/equivalent-store.mjs): the number blind-indexed and sealed. */
const equivalentRow = ({ verification: v }, vault) => ({
  id: v.id,
  to_index: vault.index(v.to_number),
  to_sealed: vault.seal(v.to_number, v.id),
  country: v.country,
  status: v.status,
  code_hash: v.code_hash,
  code_sealed: v.sealed_code,
  checks: v.checks,
  sends: v.sends,
  created_at: v.created_at,
  updated_at: v.updated_at,
  expires_at: v.expires_at,
  last_sent_at: v.last_sent_at,
  approved_at: v.approved_at,
});

/** A seeded random source, so two databases seeded with the same rows hold the same data. */
function mulberry32(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An insert for `table` naming exactly the columns of `sample`, after checking them against the schema. */
function insertFor(raw, table, sample) {
  const columns = raw.prepare(`pragma table_info(${table})`).all();
  const known = new Set(columns.map((c) => c.name));
  const given = Object.keys(sample);
  const unknown = given.filter((c) => !known.has(c));
  const missing = columns.filter((c) => c.notnull && c.dflt_value === null && !c.pk && !given.includes(c.name));
  if (unknown.length || missing.length) {
    throw new Error(
      `the ${table} schema changed: adapt buildVerification in bench/lib/seeding.mjs` +
        `${unknown.length ? ` (no such column: ${unknown.join(", ")})` : ""}` +
        `${missing.length ? ` (required column not set: ${missing.map((c) => c.name).join(", ")})` : ""}`,
    );
  }
  return raw.prepare(`insert into ${table} (${given.join(", ")}) values (${given.map((c) => `@${c}`).join(", ")})`);
}

/** Inserts `rows` rows in transactions of BATCH; `write(row)` runs the inserts of one. */
function fill(raw, rows, now, vault, route, write) {
  const ctx = { now, vault, route, random: mulberry32(42) };
  const batch = raw.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      // Evenly spread over the span, oldest first, like rows that arrived over time.
      const createdAt = now - SPAN + Math.floor(((i + 0.5) * SPAN) / rows);
      write(buildVerification(i, createdAt, ctx));
    }
  });
  for (let from = 0; from < rows; from += BATCH) batch(from, Math.min(rows, from + BATCH));
}

function tuneForBulkLoad(raw) {
  raw.pragma("synchronous = OFF"); // a seed that crashes is simply redone
  raw.pragma("cache_size = -262144"); // 256 MB of page cache for the index builds
}

/** Seeds verifyd's database file (migrated first) with `rows` verifications and one delivery each. */
export function seedVerifyd(file, { rows, secret, now = Date.now() }) {
  const { raw, db } = openSqlite(file);
  try {
    migrateSqlite(db);
    tuneForBulkLoad(raw);
    const route = JSON.stringify([{ channel: "sms", providers: ["dryrun"], fallbackAfterMs: null }]);
    const addService = raw.prepare(
      "insert or ignore into services (id, name, route, created_at, updated_at) values (?, ?, ?, ?, ?)",
    );
    for (const s of [{ id: DEFAULT_SERVICE }, ...SERVICES]) addService.run(s.id, s.id.replace("svc_", ""), route, now, now);
    const vault = createNumberVault(secret);
    const sample = buildVerification(0, now - SPAN, { now, vault, route, random: mulberry32(1) });
    const insertVerification = insertFor(raw, "verifications", sample.verification);
    const insertDelivery = insertFor(raw, "deliveries", sample.delivery);
    fill(raw, rows, now, vault, route, ({ verification, delivery }) => {
      insertVerification.run(verification);
      insertDelivery.run(delivery);
    });
    writeKeyCheck(raw, vault, now); // sealed with this secret: nothing to seal at start
    raw.pragma("wal_checkpoint(TRUNCATE)");
    raw.exec("analyze");
  } finally {
    raw.close();
  }
}

/** Seeds the baseline's database file with the same rows, in its one table. */
export function seedBaseline(file, { rows, now = Date.now() }) {
  const raw = new Database(file);
  try {
    raw.pragma("journal_mode = WAL");
    tuneForBulkLoad(raw);
    raw.exec(BASELINE_TABLE);
    const insert = insertFor(raw, "otp", baselineRow(buildVerification(0, now, { now, random: mulberry32(1) })));
    fill(raw, rows, now, undefined, "[]", (row) => insert.run(baselineRow(row)));
    raw.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    raw.close();
  }
}

/** Seeds the equivalent baseline's database file (its schema, numbers sealed under `secret`). */
export function seedEquivalent(file, { rows, secret, now = Date.now() }) {
  const raw = openEquivalent(file);
  try {
    tuneForBulkLoad(raw);
    const vault = createVault(secret);
    const sample = equivalentRow(buildVerification(0, now, { now, random: mulberry32(1) }), vault);
    const insert = insertFor(raw, "verifications", sample);
    fill(raw, rows, now, undefined, "[]", (row) => insert.run(equivalentRow(row, vault)));
    raw.pragma("wal_checkpoint(TRUNCATE)");
    raw.exec("analyze");
  } finally {
    raw.close();
  }
}

/** Seeds the database file of each named target in `dir`; returns the seconds each took. */
export function seedDatabases({ dir, rows, targets, secret, cache }) {
  const seconds = {};
  const seeders = {
    verifyd: [seedVerifyd, "verifyd.db"],
    baseline: [seedBaseline, "baseline.db"],
    equivalent: [seedEquivalent, "equivalent.db"],
  };
  for (const name of targets) {
    const [seed, file] = seeders[name];
    const t0 = performance.now();
    if (cache) {
      // Seeded once into the cache (under its secret, see cachedSecret), then copied.
      const kept = join(cache, `${rows}-${file}`);
      if (!existsSync(kept)) seed(kept, { rows, secret });
      copyFileSync(kept, join(dir, file));
    } else seed(join(dir, file), { rows, secret });
    seconds[name] = (performance.now() - t0) / 1000;
  }
  return seconds;
}

/** The secret a seed cache's databases were written under: the one kept there, else `fresh`, kept. */
export function cachedSecret(cache, fresh) {
  mkdirSync(cache, { recursive: true });
  const file = join(cache, "secret");
  if (!existsSync(file)) writeFileSync(file, fresh, { mode: 0o600 });
  return readFileSync(file, "utf8");
}

/**
 * Migrates verifyd's database file and opens a conversion-guard block on a whole `country`, as the
 * guard opens one when a pumping wave's sends to it never convert (enforce mode, lasting an hour):
 * every send there is then refused by the block, before any counter moves.
 */
export function seedCountryBlock(file, { country, now = Date.now() }) {
  const { raw, db } = openSqlite(file);
  try {
    migrateSqlite(db);
    raw
      .prepare(
        `insert into abuse_blocks (id, scope, key, key_sealed, reason, sends, approvals, mode, repeat, created_at, expires_at)
         values (?, 'country', ?, null, 'unproven_country', 50, 0, 'enforce', 1, ?, ?)`,
      )
      .run(`abk_bench_${country.toLowerCase()}`, country, now, now + 3_600_000);
  } finally {
    raw.close();
  }
}
