import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { rotateKeyCommand } from "../../src/commands/rotate-key.js";
import { buildRuntime, type Runtime } from "../../src/compose.js";
import { loadConfig } from "../../src/config/env.js";
import { ConfigError } from "../../src/config/errors.js";
import { createCodeKit } from "../../src/core/codes.js";
import { createNumberVault } from "../../src/core/number-vault.js";
import { createLogger } from "../../src/observability/logger.js";
import { storedApprovedDestination, storedConversionKey } from "../../src/store/at-rest.js";
import { migrateSqlite, openSqlite, sqliteMigrationsFolder } from "../../src/store/sqlite/open.js";
import { ensureSealed } from "../../src/store/sqlite/vault-state.js";
import { VaultKeyMismatchError } from "../../src/store/vault-key.js";
import { FakeClock } from "../helpers/clock.js";
import { CapturingSender } from "../helpers/senders.js";
import { codeAt, parseOtpauth } from "../helpers/totp.js";

/** Key rotation (`verifyd rotate-key`) and the one-time sealing of rows stored in clear by earlier versions. */

const OLD_SECRET = "old-secret-0123456789abcdef0123456789abcdef";
const NEW_SECRET = "new-secret-0123456789abcdef0123456789abcdef";
const ADMIN_KEY = "at-rest-admin-key-0123456789abcdef";
const USER = "+14155550171";
const OTHER = "+14155550172";

let dir: string;
let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A verifyd on `dbPath` with `secret`, a fake clock and a capturing console channel. */
async function boot(dbPath: string, secret: string, clock = new FakeClock()) {
  const sender = new CapturingSender();
  const config = loadConfig({
    VERIFYD_DB: dbPath,
    VERIFYD_SECRET: secret,
    VERIFYD_ADMIN_KEY: ADMIN_KEY,
    VERIFYD_INBOUND_NUMBERS: "sms:+15017122661",
    VERIFYD_LOG_LEVEL: "silent",
  });
  runtime = await buildRuntime(config, { clock, senders: [sender], logger: createLogger("silent") });
  const app = runtime.app;
  const json = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers = {}) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T, headers: res.headers };
  };
  return { json, sender, clock };
}

const rows = <T>(dbPath: string, sql: string, ...params: unknown[]) => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
};

describe("verifyd rotate-key", () => {
  it("refuses a PostgreSQL database (not yet supported there) before touching anything", async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-rotate-"));
    const config = {
      dbPath: join(dir, "unused.db"),
      databaseUrl: "postgres://127.0.0.1:1/none",
      secret: NEW_SECRET,
      previousSecret: OLD_SECRET,
      screening: { prefixDigits: 4 },
    };
    const refused = await rotateKeyCommand(config as Parameters<typeof rotateKeyCommand>[0], { write: () => {} }).catch(
      (err) => err,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/^DATABASE_URL: rotate-key re-keys SQLite databases only/);
  });

  it("re-keys numbers, indexes, pending codes and factors; the old secret no longer opens the database", async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-rotate-"));
    const dbPath = join(dir, "verifyd.db");
    const clock = new FakeClock();
    let api = await boot(dbPath, OLD_SECRET, clock);
    const pending = await api.json<{ id: string }>("POST", "/v1/verifications", { to: USER }, { "idempotency-key": "k1" });
    const code = api.sender.lastCode(USER);
    const wrong = code === "000000" ? "111111" : "000000";
    await api.json("POST", `/v1/verifications/${pending.body.id}/check`, { code: wrong });
    expect((await api.json("POST", "/v1/opt-outs", { phone: OTHER, channel: "whatsapp" })).status).toBe(201);
    const inbound = await api.json<{ id: string }>("POST", "/v1/verifications", { channel: "inbound", to: OTHER });
    const factor = await api.json<{ id: string; otpauth_uri: string }>("POST", "/v1/factors", { entity_id: "u1" });
    await runtime?.close();
    runtime = undefined;

    const out: string[] = [];
    const config = { dbPath, secret: NEW_SECRET, previousSecret: OLD_SECRET, screening: { prefixDigits: 4 } };
    const counts = await rotateKeyCommand(config as Parameters<typeof rotateKeyCommand>[0], {
      clock,
      write: (t) => out.push(t),
    });
    expect(counts).toMatchObject({ verifications: 2, expired: 1, optOuts: 1, idempotencyKeys: 1, factors: 1 });
    expect(counts?.rateLimits).toBeGreaterThanOrEqual(2); // sends and failed checks of USER, at least
    expect(out.join("")).toMatch(/^re-keyed .*1 pending inbound expired/);
    // Running it again finds nothing to do; a wrong previous secret is refused.
    expect(await rotateKeyCommand(config as Parameters<typeof rotateKeyCommand>[0], { write: () => {} })).toBeNull();

    // The stored indexes are the new key's; the old key no longer opens the database.
    const oldVault = createNumberVault(OLD_SECRET);
    const newVault = createNumberVault(NEW_SECRET);
    expect(rows(dbPath, "select to_number from verifications where id = ?", pending.body.id)).toEqual([
      { to_number: newVault.index(USER) },
    ]);
    expect(
      rows(dbPath, "select key from rate_limits where key = ?", `failed_checks_per_destination:${newVault.index(USER)}`),
    ).toHaveLength(1);
    const opened = openSqlite(dbPath);
    try {
      expect(() => ensureSealed(opened.raw, oldVault, clock.now())).toThrow(VaultKeyMismatchError);
    } finally {
      opened.raw.close();
    }
    await expect(boot(dbPath, OLD_SECRET)).rejects.toThrow(VaultKeyMismatchError);

    // Under the new secret everything reads back and lookups by number find the rows.
    api = await boot(dbPath, NEW_SECRET, clock);
    expect((await api.json("GET", `/v1/verifications/${pending.body.id}`)).body).toMatchObject({ to: USER, status: "pending" });
    const replay = await api.json("POST", "/v1/verifications", { to: USER }, { "idempotency-key": "k1" });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await api.json("GET", `/v1/opt-outs?phone=${encodeURIComponent(OTHER)}`)).body).toMatchObject({
      data: [{ phone: OTHER, channel: "whatsapp" }],
    });
    expect((await api.json("GET", `/v1/verifications/${inbound.body.id}`)).body).toMatchObject({ status: "expired" });
    const checked = await api.json("POST", "/v1/verification-checks", { to: USER, code });
    expect(checked.body).toMatchObject({ valid: true, verification_id: pending.body.id });
    const totp = parseOtpauth(factor.body.otpauth_uri);
    const verified = await api.json("POST", `/v1/factors/${factor.body.id}/verify`, {
      code: await codeAt({ secret: totp.secret }, clock.now()),
    });
    expect(verified.body).toMatchObject({ valid: true });
  });

  it("carries the conversion guard's history and blocks to the new key", async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-rotate-"));
    const dbPath = join(dir, "verifyd.db");
    const clock = new FakeClock();
    let api = await boot(dbPath, OLD_SECRET, clock);
    const started = await api.json<{ id: string }>("POST", "/v1/verifications", { to: USER });
    const approved = await api.json("POST", `/v1/verifications/${started.body.id}/check`, { code: api.sender.lastCode(USER) });
    expect(approved.body).toMatchObject({ valid: true });
    // Five unanswered sends to a range with no approval, settled: the prefix and the range are blocked.
    const pumped = (i: number) => `+1212555010${i}`;
    for (let i = 0; i < 5; i++) expect((await api.json("POST", "/v1/verifications", { to: pumped(i) })).status).toBe(201);
    clock.advance(11 * 60_000);
    expect((await api.json("POST", "/v1/verifications", { to: pumped(5) })).status).toBe(403);
    await runtime?.close();
    runtime = undefined;

    const config = { dbPath, secret: NEW_SECRET, previousSecret: OLD_SECRET, screening: { prefixDigits: 4 } };
    const counts = await rotateKeyCommand(config as Parameters<typeof rotateKeyCommand>[0], { clock, write: () => {} });
    expect(counts).toMatchObject({ conversionHistory: 5, droppedConversionHistory: 0 });
    const newVault = createNumberVault(NEW_SECRET);
    const history = rows<{ scope: string; key: string }>(
      dbPath,
      "select scope, key from conversion_history where scope <> 'country'",
    );
    expect(history.map((r) => `${r.scope} ${r.key}`).sort()).toEqual(
      [
        `destination ${storedApprovedDestination(newVault, USER).key}`,
        `prefix ${storedConversionKey(newVault, "prefix", "+1415555")}`,
        `range ${storedConversionKey(newVault, "range", "+14155")}`,
        `prefix ${storedConversionKey(newVault, "prefix", "+1212555")}`,
        `range ${storedConversionKey(newVault, "range", "+12125")}`,
      ].sort(),
    );

    api = await boot(dbPath, NEW_SECRET, clock);
    const blocks = await api.json<{ data: { scope: string; key: string }[] }>("GET", "/v1/abuse/blocks");
    expect(blocks.body.data.map((b) => `${b.scope} ${b.key}`).sort()).toEqual(["prefix +1212555", "range +12125"]);
    const refused = await api.json<{ code: string; reasons: string[] }>("POST", "/v1/verifications", { to: pumped(6) });
    expect([refused.body.code, ...refused.body.reasons.sort()]).toEqual(["blocked", "unproven_prefix", "unproven_range"]);
  });

  it("re-keys an email destination like a number: it reads back, and checks by address find it", async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-rotate-"));
    const dbPath = join(dir, "verifyd.db");
    const clock = new FakeClock();
    let api = await boot(dbPath, OLD_SECRET, clock);
    const route = [{ channel: "email", providers: ["console"] }];
    expect((await api.json("PATCH", "/v1/services/svc_default", { route })).status).toBe(200);
    clock.advance(5_000); // keys and their services are cached this long
    const pending = await api.json<{ id: string; to: string }>("POST", "/v1/verifications", { to: "Ada@Example.com" });
    expect(pending.body.to).toBe("ada@example.com");
    const code = api.sender.lastCode("ada@example.com");
    await runtime?.close();
    runtime = undefined;

    const config = { dbPath, secret: NEW_SECRET, previousSecret: OLD_SECRET, screening: { prefixDigits: 4 } };
    const counts = await rotateKeyCommand(config as Parameters<typeof rotateKeyCommand>[0], { clock, write: () => {} });
    expect(counts).toMatchObject({ verifications: 1 });
    expect(rows(dbPath, "select to_number from verifications where id = ?", pending.body.id)).toEqual([
      { to_number: createNumberVault(NEW_SECRET).index("ada@example.com") },
    ]);
    api = await boot(dbPath, NEW_SECRET, clock);
    expect((await api.json("GET", `/v1/verifications/${pending.body.id}`)).body).toMatchObject({ to: "ada@example.com" });
    const checked = await api.json("POST", "/v1/verification-checks", { to: "ADA@example.com", code });
    expect(checked.body).toMatchObject({ valid: true, verification_id: pending.body.id });
  });

  it("refuses a previous secret that does not open the database (exit 1 from the CLI)", async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-rotate-"));
    const dbPath = join(dir, "verifyd.db");
    await boot(dbPath, OLD_SECRET);
    await runtime?.close();
    runtime = undefined;
    const config = { dbPath, secret: NEW_SECRET, previousSecret: `${OLD_SECRET}x`, screening: { prefixDigits: 4 } };
    await expect(rotateKeyCommand(config as Parameters<typeof rotateKeyCommand>[0], { write: () => {} })).rejects.toThrow(
      VaultKeyMismatchError,
    );
  });
});

describe("upgrade from plaintext numbers", () => {
  it("seals rows written in clear before the migration, once, and keeps them usable", async () => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-upgrade-"));
    const dbPath = join(dir, "verifyd.db");
    // The schema as it was before numbers were sealed: every migration but the last.
    const before = join(dir, "migrations");
    cpSync(sqliteMigrationsFolder(), before, { recursive: true });
    const journalPath = join(before, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
    // Drizzle applies only migrations newer than the last applied one, so everything from the sealing migration on goes.
    journal.entries = journal.entries.slice(
      0,
      journal.entries.findIndex((e) => e.tag === "0010_numbers_at_rest"),
    );
    writeFileSync(journalPath, JSON.stringify(journal));
    const legacy = openSqlite(dbPath);
    migrateSqlite(legacy.db, before);
    const clock = new FakeClock();
    const now = clock.now();
    const codes = createCodeKit(OLD_SECRET);
    const route = JSON.stringify([{ channel: "sms", providers: ["console"], fallbackAfterMs: null }]);
    legacy.raw
      .prepare(
        `insert into services (id, name, policy, route, country_routes, created_at, updated_at)
         values ('svc_default', 'verifyd', '{}', ?, '{}', ?, ?)`,
      )
      .run(route, now, now);
    legacy.raw
      .prepare(
        `insert into verifications (id, service_id, to_number, country, status, code_hash, sealed_code, route, sends, max_checks,
           max_sends, created_at, updated_at, expires_at, last_sent_at)
         values ('ver_legacy', 'svc_default', ?, 'US', 'pending', ?, ?, ?, 1, 5, 5, ?, ?, ?, ?)`,
      )
      .run(USER, codes.hash("ver_legacy", "424242"), codes.seal("ver_legacy", "424242"), route, now, now, now + 600_000, now);
    legacy.raw
      .prepare("insert into opt_outs (phone, channel, source, created_at) values (?, 'whatsapp', 'api', ?)")
      .run(OTHER, now);
    legacy.raw
      .prepare(
        "insert into events (id, type, payload, status, created_at, updated_at) values ('evt_1', 'x', ?, 'delivered', ?, ?)",
      )
      .run(JSON.stringify({ data: { to_masked: "+1415***0171" } }), now, now);
    legacy.raw.prepare("insert into rate_limits (key, points, expire) values (?, 1, null)").run(`sends_per_destination:${USER}`);
    legacy.raw.close();

    const api = await boot(dbPath, OLD_SECRET, clock);
    const vault = createNumberVault(OLD_SECRET);
    expect(rows(dbPath, "select to_number from verifications")).toEqual([{ to_number: vault.index(USER) }]);
    expect(rows(dbPath, "select phone from opt_outs")).toEqual([{ phone: vault.index(OTHER) }]);
    expect(rows(dbPath, "select key from rate_limits")).toEqual([{ key: `sends_per_destination:${vault.index(USER)}` }]);
    expect(rows<{ payload: string }>(dbPath, "select payload from events")[0]?.payload).toMatch(/^sealed1:/);
    const dbBytes = readFileSync(dbPath);
    const wal = readFileSync(`${dbPath}-wal`);
    for (const bytes of [dbBytes, wal]) expect(bytes.includes(Buffer.from("+141555501"))).toBe(false);

    expect((await api.json("GET", "/v1/verifications/ver_legacy")).body).toMatchObject({ to: USER, status: "pending" });
    expect((await api.json("POST", "/v1/verification-checks", { to: USER, code: "424242" })).body).toMatchObject({
      valid: true,
    });
    expect((await api.json("GET", "/v1/opt-outs")).body).toMatchObject({ data: [{ phone: OTHER }] });
  });
});
