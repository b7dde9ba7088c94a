import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { groupCommitFor, withGroupCommit } from "../../src/store/sqlite/group-commit.js";
import { groupUnits } from "../../src/store/sqlite/unit.js";

/** A tiny store on its own file, and a second connection that sees only what is committed. */
function setup(dir: string) {
  const path = join(dir, "g.db");
  const raw = new Database(path);
  raw.pragma("journal_mode = WAL");
  raw.exec(`create table parent (id integer primary key);
            create table item (name text primary key,
              parent integer references parent(id) deferrable initially deferred)`);
  raw.pragma("foreign_keys = ON");
  const insert = raw.prepare("insert into item (name, parent) values (?, ?)");
  const pair = raw.transaction((a: string, b: string) => {
    insert.run(a, null);
    insert.run(b, null);
  });
  const store = withGroupCommit(
    {
      unit: async <T>(work: (unit: { join<P extends object>(port: P): P }) => Promise<T>) => work({ join: (port) => port }),
      async add(name: string, parent: number | null = null) {
        insert.run(name, parent);
      },
      async addPair(a: string, b: string) {
        pair(a, b);
      },
      async count() {
        return (raw.prepare("select count(*) as n from item").get() as { n: number }).n;
      },
      async abortBySqlite() {
        raw.exec("ROLLBACK"); // what SQLite does by itself on a full disk or an I/O error
      },
      async readiness() {
        return raw.inTransaction;
      },
      async close() {
        raw.close();
      },
    },
    groupCommitFor(raw),
    groupUnits,
  );
  const observer = new Database(path, { readonly: true });
  const committed = () => observer.prepare("select name from item order by name").pluck().all() as string[];
  return { raw, store, committed, close: () => observer.close() };
}

describe("group commit", () => {
  let dir: string;
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "verifyd-group-"));
    t = setup(dir);
  });
  afterEach(() => {
    t.close();
    if (t.raw.open) t.raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the operations of one turn in one transaction and settles them after its commit", async () => {
    const a = t.store.add("a");
    const b = t.store.add("b");
    // Both wrote inside one open transaction: another connection sees neither yet.
    expect(t.raw.inTransaction).toBe(true);
    expect(t.committed()).toEqual([]);
    let settledEarly = false;
    void a.then(() => {
      settledEarly = t.committed().length === 0;
    });
    await Promise.all([a, b]);
    expect(settledEarly).toBe(false);
    expect(t.committed()).toEqual(["a", "b"]);
    expect(t.raw.inTransaction).toBe(false);
  });

  it("rolls back a failing operation alone and commits the rest of its batch", async () => {
    const first = t.store.add("dup");
    const again = t.store.add("dup"); // primary-key violation
    const pairHalfDup = t.store.addPair("p1", "dup"); // its savepoint undoes p1 too
    const other = t.store.add("other");
    await expect(again).rejects.toThrow(/UNIQUE/);
    await expect(pairHalfDup).rejects.toThrow(/UNIQUE/);
    await Promise.all([first, other]);
    expect(t.committed()).toEqual(["dup", "other"]);
  });

  it("fails every operation of a batch whose commit fails, and saves none of it", async () => {
    const good = t.store.add("good");
    const orphan = t.store.add("orphan", 42); // a deferred foreign key: refused only at COMMIT
    await expect(good).rejects.toThrow(/FOREIGN KEY/);
    await expect(orphan).rejects.toThrow(/FOREIGN KEY/);
    expect(t.committed()).toEqual([]);
    // The connection is usable again: the next turn commits normally.
    await t.store.add("later");
    expect(t.committed()).toEqual(["later"]);
  });

  it("fails a batch SQLite rolled back by itself and starts a new one for later operations", async () => {
    const lost = t.store.add("lost");
    const abort = t.store.abortBySqlite();
    await expect(lost).rejects.toThrow(/rolled back/);
    await expect(abort).rejects.toThrow(/rolled back/);
    await t.store.add("kept");
    expect(t.committed()).toEqual(["kept"]);
  });

  it("makes a read wait for the commit of writes it may have seen", async () => {
    void t.store.add("x");
    const seen = await t.store.count();
    expect(seen).toBe(1);
    expect(t.committed()).toEqual(["x"]); // by the time the read answers, what it saw is durable
  });

  it("commits the open batch before readiness and close, which run outside any batch", async () => {
    const pending = t.store.add("before-ready");
    expect(await t.store.readiness()).toBe(false); // flushed: no transaction open around it
    await pending;
    void t.store.add("before-close");
    await t.store.close();
    expect(t.committed()).toEqual(["before-close", "before-ready"]);
  });

  describe("a unit", () => {
    it("settles its operations as they run, in one transaction, and itself after the commit", async () => {
      let settledBeforeCommit = false;
      const done = t.store.unit(async (u) => {
        const s = u.join(t.store);
        await s.add("a");
        await s.addPair("b", "c");
        // Settled without waiting: nothing of it is committed yet, and it reads its own writes.
        settledBeforeCommit = t.raw.inTransaction && t.committed().length === 0;
        return s.count();
      });
      expect(await done).toBe(3);
      expect(settledBeforeCommit).toBe(true);
      expect(t.committed()).toEqual(["a", "b", "c"]); // answered only once durable
    });

    it("answers a refusal only after the commit of what it counted before", async () => {
      const refused = t.store.unit(async (u) => {
        await u.join(t.store).add("counted");
        throw new Error("refused");
      });
      await expect(refused).rejects.toThrow("refused");
      expect(t.committed()).toEqual(["counted"]);
    });

    it("fails with its batch when the commit fails", async () => {
      const lost = t.store.unit(async (u) => {
        await u.join(t.store).add("orphan", 42); // refused only at COMMIT
        return "answered";
      });
      await expect(lost).rejects.toThrow(/FOREIGN KEY/);
      expect(t.committed()).toEqual([]);
    });

    it("stops at its next operation when a batch it wrote in was lost meanwhile", async () => {
      const ran: string[] = [];
      const unit = t.store.unit(async (u) => {
        const s = u.join(t.store);
        await s.add("orphan", 42);
        await new Promise((resolve) => setImmediate(resolve)); // real I/O: the batch commits, and fails
        ran.push("after");
        await s.add("built-on-it");
        ran.push("not reached");
      });
      await expect(unit).rejects.toThrow(/FOREIGN KEY/);
      expect(ran).toEqual(["after"]);
      expect(t.committed()).toEqual([]);
    });

    it("waits only for the batch it last joined when it outlives a turn", async () => {
      const unit = t.store.unit(async (u) => {
        const s = u.join(t.store);
        await s.add("first");
        await new Promise((resolve) => setImmediate(resolve));
        await s.add("second");
      });
      await unit;
      expect(t.committed()).toEqual(["first", "second"]);
    });

    it("returns what is not in its group as it is", async () => {
      const other = { add: async () => "elsewhere" };
      await t.store.unit(async (u) => {
        expect(u.join(other)).toBe(other);
      });
    });
  });
});
