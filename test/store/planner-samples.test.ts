import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openConfiguredStore } from "../../src/store/backends.js";
import { dropPlannerSamples, migrateSqlite, openSqlite } from "../../src/store/sqlite/open.js";

const SECRET = "a secret only good for testing, long enough";

/** A migrated file with opt-outs in it, analyzed: ANALYZE writes per-index counts and STAT4 samples. */
function analyzedFile(path: string): void {
  const { raw, db } = openSqlite(path);
  migrateSqlite(db);
  const insert = raw.prepare("insert into opt_outs (phone, channel, source, created_at) values (?, 'sms', 'api', ?)");
  raw.transaction(() => {
    for (let i = 0; i < 200; i++) insert.run(`index-${i}`, i);
  })();
  raw.exec("analyze");
  raw.close();
}

const count = (path: string, table: string): number => {
  const { raw } = openSqlite(path);
  try {
    return raw.prepare(`select count(*) from ${table}`).pluck().get() as number;
  } finally {
    raw.close();
  }
};

describe("SQLite planner samples", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-samples-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("opening a store drops ANALYZE's STAT4 samples and keeps its per-index counts", async () => {
    const path = join(dir, "analyzed.db");
    analyzedFile(path);
    expect(count(path, "sqlite_stat4")).toBeGreaterThan(0);
    const stat1 = count(path, "sqlite_stat1");
    expect(stat1).toBeGreaterThan(0);

    const opened = await openConfiguredStore({ dbPath: path, secret: SECRET });
    await opened.store.close();

    expect(count(path, "sqlite_stat4")).toBe(0);
    expect(count(path, "sqlite_stat1")).toBe(stat1);
  });

  it("leaves a file that was never analyzed as it is", () => {
    const { raw, db } = openSqlite(join(dir, "fresh.db"));
    migrateSqlite(db);
    expect(dropPlannerSamples(raw)).toBe(false);
    expect(raw.prepare("select count(*) from sqlite_schema where name like 'sqlite_stat%'").pluck().get()).toBe(0);
    raw.close();
  });
});
