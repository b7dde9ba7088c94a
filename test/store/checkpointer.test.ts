import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openConfiguredStore } from "../../src/store/backends.js";
import { type Checkpointer, DEFAULT_AUTOCHECKPOINT_PAGES, startCheckpointer } from "../../src/store/sqlite/checkpointer.js";
import { openSqlite } from "../../src/store/sqlite/open.js";

const HOUR = 3_600_000; // an interval no test waits for: passes run when the test asks

describe("the WAL checkpoint worker (SQLite)", () => {
  let dir: string;
  let path: string;
  let raw: Database.Database;
  let checkpointer: Checkpointer | null;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-checkpoint-"));
    path = join(dir, "c.db");
    raw = openSqlite(path).raw;
    raw.exec("create table item (id integer primary key, body blob not null)");
    checkpointer = null;
  });
  afterEach(async () => {
    vi.useRealTimers();
    await checkpointer?.stop();
    if (raw.open) raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `count` transactions, each dirtying about `pages` new pages (one 4 KiB row per page). */
  const write = (count: number, pages = 4) => {
    const insert = raw.prepare("insert into item (body) values (zeroblob(4000))");
    const tx = raw.transaction(() => {
      for (let i = 0; i < pages; i++) insert.run();
    });
    for (let i = 0; i < count; i++) tx();
  };
  const autocheckpoint = () => raw.pragma("wal_autocheckpoint", { simple: true });

  it("copies every committed frame into the database file, and the next write starts the WAL over", async () => {
    checkpointer = startCheckpointer(raw, path, { intervalMs: HOUR, walLimitPages: 100_000 });
    expect(checkpointer).not.toBeNull();
    write(200);
    const first = await checkpointer!.checkpoint();
    expect(first.busy).toBe(0);
    expect(first.log).toBeGreaterThan(800);
    expect(first.checkpointed).toBe(first.log);
    // What the worker copied is readable from the file alone once the WAL is reset.
    write(1);
    const second = await checkpointer!.checkpoint();
    expect(second.log).toBeLessThan(20);
    expect((raw.prepare("select count(*) as n from item").get() as { n: number }).n).toBe(804);
  });

  it("starts its worker at the first tick that has writes to copy, and passes only when there are", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    checkpointer = startCheckpointer(raw, path, { intervalMs: 250, walLimitPages: 100_000 });
    vi.advanceTimersByTime(1000);
    expect(checkpointer!.started()).toBe(false); // idle: no worker, no thread, no memory spent
    write(200);
    vi.advanceTimersByTime(250);
    expect(checkpointer!.started()).toBe(true);
    const after = await checkpointer!.checkpoint(); // queued behind the tick's pass, which copied the 200 writes
    expect(after.log).toBeGreaterThan(800);
    expect(after.checkpointed).toBe(after.log);
  });

  it("takes the automatic checkpoint off the serving connection up to the WAL limit", async () => {
    checkpointer = startCheckpointer(raw, path, { intervalMs: HOUR, walLimitPages: 5000 });
    expect(autocheckpoint()).toBe(5000);
    write(500); // about 2000 pages: under the limit, nothing is copied inline
    const pass = await checkpointer!.checkpoint();
    expect(pass.log).toBeGreaterThan(2000);
  });

  it("holds the WAL to its limit when the worker does not keep up", async () => {
    checkpointer = startCheckpointer(raw, path, { intervalMs: HOUR, walLimitPages: 1000 });
    write(2000); // about 8000 pages, and no pass of the worker
    const frameBytes = 4096 + 24;
    expect(statSync(`${path}-wal`).size).toBeLessThanOrEqual(32 + (1000 + 8) * frameBytes);
  });

  it("puts the serving connection back on inline checkpoints when the worker fails", async () => {
    const failures: unknown[] = [];
    checkpointer = startCheckpointer(raw, join(dir, "missing", "x.db"), { intervalMs: HOUR, walLimitPages: 50_000 }, (err) =>
      failures.push(err),
    );
    expect(autocheckpoint()).toBe(50_000);
    await expect(checkpointer!.checkpoint()).rejects.toThrow();
    expect(failures).toHaveLength(1);
    expect(autocheckpoint()).toBe(DEFAULT_AUTOCHECKPOINT_PAGES);
  });

  it("starts nothing for an interval of 0 or an in-memory database", () => {
    expect(startCheckpointer(raw, path, { intervalMs: 0, walLimitPages: 5000 })).toBeNull();
    expect(autocheckpoint()).toBe(DEFAULT_AUTOCHECKPOINT_PAGES);
    const memory = openSqlite(":memory:").raw;
    expect(startCheckpointer(memory, ":memory:", { intervalMs: 100, walLimitPages: 5000 })).toBeNull();
    memory.close();
  });

  it("closes its connection on stop, so the serving connection closes last and removes the WAL", async () => {
    checkpointer = startCheckpointer(raw, path, { intervalMs: HOUR, walLimitPages: 5000 });
    write(10);
    await checkpointer!.checkpoint();
    await checkpointer!.stop();
    checkpointer = null;
    raw.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    const reopened = openSqlite(path).raw;
    expect((reopened.prepare("select count(*) as n from item").get() as { n: number }).n).toBe(40);
    reopened.close();
  });

  it("runs beside a serving store, whose close stops it first", async () => {
    const dbPath = join(dir, "served.db");
    const opened = await openConfiguredStore({ dbPath, secret: "a secret only good for testing, long enough" }, Date.now(), {
      checkpoint: { intervalMs: HOUR, walLimitPages: 5000 },
    });
    expect(existsSync(`${dbPath}-wal`)).toBe(true);
    await opened.store.close();
    // Closed last, the serving connection checkpointed and removed the WAL: the worker's was gone.
    expect(existsSync(`${dbPath}-wal`)).toBe(false);
  });
});
