import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createNumberVault } from "../../src/core/number-vault.js";
import { healthRoutes } from "../../src/http/routes/health.js";
import { sqliteStores } from "../../src/store/backends.js";
import { migrateSqlite, openSqlite } from "../../src/store/sqlite/open.js";
import * as schema from "../../src/store/sqlite/schema.js";
import { createHarness, type Harness, TEST_SECRET } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";

/** These tests read the SQLite file itself; the store contract holds PostgreSQL to the same. */
const sqliteFileOnly = onSharedBackends();

type NotReady = { code: string; status: number; checks: Array<{ name: string; detail: string }> };

/** Runs `change` on a second connection to the harness's database, as an operator's tool would. */
async function onSecondConnection(path: string, change: (raw: Database.Database) => unknown): Promise<void> {
  const second = openSqlite(path);
  try {
    await change(second.raw);
  } finally {
    second.raw.close();
  }
}

describe("GET /readyz", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const readyz = async () => {
    const res = await h.runtime.app.request("/readyz");
    return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as NotReady };
  };

  it("is ready with a writable, migrated database and every routed provider configured", async () => {
    const res = await readyz();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ready" });
  });

  it.skipIf(sqliteFileOnly)("answers 503 naming the migrations when the schema is behind this build", async () => {
    await onSecondConnection(h.dbPath, (raw) => {
      raw.exec("delete from __drizzle_migrations where rowid = (select max(rowid) from __drizzle_migrations)");
    });
    const res = await readyz();
    expect(res.status).toBe(503);
    expect(res.type).toBe("application/problem+json");
    expect(res.body.code).toBe("service_unavailable");
    expect(res.body.checks).toEqual([{ name: "migrations", detail: expect.stringMatching(/^\d+ of \d+ migrations applied$/) }]);
    expect((await h.runtime.app.request("/healthz")).status).toBe(200); // liveness stays up
  });

  it.skipIf(sqliteFileOnly)("answers 503 naming the providers a service's route needs but nobody configured", async () => {
    await onSecondConnection(h.dbPath, (raw) => {
      const store = sqliteStores({ raw, db: drizzle(raw, { schema }) }, createNumberVault(TEST_SECRET)).store;
      return store.ensureService(
        {
          id: "svc_routed",
          name: "Routed",
          route: [{ channel: "sms", providers: ["console"], fallbackAfterMs: null }],
          countryRoutes: { GB: [{ channel: "whatsapp", providers: ["ghost_gateway"], fallbackAfterMs: null }] },
        },
        h.clock.now(),
      );
    });
    const res = await readyz();
    expect(res.status).toBe(503);
    expect(res.body.checks).toEqual([{ name: "providers", detail: expect.stringContaining("ghost_gateway") }]);
    expect(res.body.checks[0]?.detail).not.toContain("console");
  });
});

describe("SQLite store readiness", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-ready-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports a database that refuses writes (a read-only mount) as not writable", async () => {
    const path = join(dir, "ro.db");
    await onSecondConnection(path, (raw) => migrateSqlite(drizzle(raw, { schema })));
    const raw = new Database(path, { readonly: true });
    try {
      const store = sqliteStores({ raw, db: drizzle(raw, { schema }) }, createNumberVault(TEST_SECRET)).store;
      const app = healthRoutes({ store, version: "test" });
      const res = await app.request("/readyz");
      expect(res.status).toBe(503);
      const body = (await res.json()) as NotReady;
      expect(body.checks.map((c) => c.name)).toEqual(["database_writable"]);
      expect(body.checks[0]?.detail).toMatch(/readonly|read-only/i);
    } finally {
      raw.close();
    }
  });

  it("leaves no trace of the write it tries", async () => {
    const opened = openSqlite(join(dir, "rw.db"));
    migrateSqlite(opened.db);
    const store = sqliteStores(opened, createNumberVault(TEST_SECRET)).store;
    expect(await store.readiness()).toEqual([
      { name: "database_writable", ok: true },
      { name: "migrations", ok: true },
    ]);
    const tables = opened.raw.prepare("select name from sqlite_master where name like '%readiness%'").all();
    expect(tables).toEqual([]);
    await store.close();
  });
});
