import type Database from "better-sqlite3";

/**
 * Group commit for one SQLite connection: the store operations of every request handled in one
 * turn of the event loop run inside one write transaction, committed when the turn ends
 * (`setImmediate`), and each operation's promise settles only after that commit.
 *
 * Why: a commit writes every page the transaction dirtied to the WAL, one write per page. A start
 * made about ten small transactions (limit counters, the verification with its delivery, the
 * conversion counters, the claim, the result, the event), each rewriting the same handful of
 * B-tree leaf pages (the newest end of every time-ordered index). Shared by the thirty-odd
 * requests in flight, those pages are written once per turn instead of once per operation.
 *
 * What stays true:
 * - Durable before acknowledged: an operation resolves after the commit that holds its writes, so
 *   no response reports a write a crash could still lose.
 * - Atomic operations: better-sqlite3 turns a `db.transaction()` opened inside this one into a
 *   savepoint, so an operation that throws rolls back alone; a failing statement rolls back alone.
 * - A failed commit fails every operation of its batch (each caller answers an error), and a batch
 *   SQLite aborted on its own (disk full, I/O error) is noticed and failed the same way.
 * - Reads made while a batch is open may see its writes, so they wait for the commit too: nobody
 *   acts on a write that could still be rolled back.
 * `BEGIN IMMEDIATE` takes the write lock at once, waiting (busy_timeout) for another process's
 * writer instead of failing on a stale read snapshot at its first write.
 */
export interface GroupCommit {
  /** Opens the current batch if none is open; what runs until the turn ends joins it. */
  join(): void;
  /** Resolves when the writes made so far are committed (at once when no batch is open). */
  committed(): Promise<void>;
  /** Commits the open batch now (before closing the connection, or a statement that cannot run in a transaction). */
  flush(): void;
  /** The open batch, if any: what a unit (unit.ts) records of the batches its operations joined. */
  current(): Batch | null;
  /** Resolves when `batch` is committed, rejects with its failure (at once when it is settled). */
  settledOf(batch: Batch): Promise<void>;
}

export interface Batch {
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
  settled: boolean;
  /** Why the batch failed, once settled; undefined while open or when committed. */
  error?: unknown;
}

const byConnection = new WeakMap<Database.Database, GroupCommit>();

/** The one group commit of `raw`: every store and limiter on a connection must share it. */
export function groupCommitFor(raw: Database.Database): GroupCommit {
  let known = byConnection.get(raw);
  if (!known) {
    known = createGroupCommit(raw);
    byConnection.set(raw, known);
  }
  return known;
}

function createGroupCommit(raw: Database.Database): GroupCommit {
  let open: Batch | null = null;

  const settle = (batch: Batch, error: unknown) => {
    batch.settled = true;
    batch.error = error;
    for (const w of batch.waiters)
      if (error === undefined) w.resolve();
      else w.reject(error);
    batch.waiters = [];
  };

  const commit = (batch: Batch) => {
    if (batch.settled) return;
    if (open === batch) open = null;
    if (!raw.open || !raw.inTransaction) {
      // SQLite rolled the batch back by itself (or the connection closed under it).
      return settle(batch, new Error("the database transaction was rolled back; nothing of it was saved"));
    }
    try {
      raw.exec("COMMIT");
    } catch (err) {
      if (raw.inTransaction) raw.exec("ROLLBACK");
      return settle(batch, err);
    }
    settle(batch, undefined);
  };

  const settledOf = (batch: Batch): Promise<void> => {
    if (batch.settled) return batch.error === undefined ? Promise.resolve() : Promise.reject(batch.error);
    return new Promise((resolve, reject) => batch.waiters.push({ resolve, reject }));
  };

  return {
    join() {
      if (open && raw.inTransaction) return;
      // An open batch whose transaction is gone was aborted by SQLite: fail it, start afresh.
      if (open) commit(open);
      if (raw.inTransaction) return; // someone else's explicit transaction (start-up, maintenance)
      beginWithSubjournalInMemory(raw);
      const batch: Batch = { waiters: [], settled: false };
      open = batch;
      setImmediate(() => commit(batch));
    },
    committed() {
      return open ? settledOf(open) : Promise.resolve();
    },
    flush() {
      if (open) commit(open);
    },
    current: () => open,
    settledOf,
  };
}

/**
 * `BEGIN IMMEDIATE`, with the batch's sub-journal in memory. Every store operation of a batch is a
 * savepoint, and most statements in a transaction open a statement journal; both save each page
 * they are about to change, for their own rollback, in the connection's sub-journal. SQLite keeps
 * it in memory up to 64 KiB and then moves it to a temporary file, which a batch of thirty requests
 * passes: every page saved then cost a write(2). `temp_store` decides where the sub-journal goes
 * when a write transaction begins, and nothing about durability (the WAL is the journal that
 * survives a crash; the sub-journal only ever serves a rollback inside the open transaction, and is
 * discarded at the commit). It is set to MEMORY for the `BEGIN` alone and put back at once, so the
 * temporary tables and sorts of large queries (analytics) still spill to files as before. Putting it
 * back inside the transaction is allowed while no temporary table exists, and verifyd creates none.
 */
function beginWithSubjournalInMemory(raw: Database.Database): void {
  raw.exec("PRAGMA temp_store = MEMORY");
  try {
    raw.exec("BEGIN IMMEDIATE");
  } finally {
    raw.exec("PRAGMA temp_store = DEFAULT");
  }
}

/** Methods that manage the connection or their own transaction: they run after a flush, outside any batch. */
export const OUTSIDE_BATCHES = new Set<PropertyKey>(["close", "readiness"]);

/** What `withGroupCommit` wrapped, by wrapper: how a unit (unit.ts) reaches the unwrapped store. */
const wrappedBy = new WeakMap<object, { target: object; group: GroupCommit }>();

/** The store behind a `withGroupCommit` wrapper and its group; undefined for anything else. */
export function groupCommitted(port: object): { target: object; group: GroupCommit } | undefined {
  return wrappedBy.get(port);
}

/**
 * Wraps every method of a SQLite-backed store so that it joins the connection's group commit and
 * settles after it. Methods that return no promise are passed through as they are. The store's
 * `unit`, when it has one, becomes `unit` over this group: `units(group)` (unit.ts).
 */
export function withGroupCommit<T extends object>(
  target: T,
  group: GroupCommit,
  units?: (group: GroupCommit) => (...args: never[]) => unknown,
): T {
  const wrapped = new Map<PropertyKey, unknown>();
  const proxy = new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof value !== "function") return value;
      let method = wrapped.get(property);
      if (!method) {
        method =
          property === "unit" && units
            ? units(group)
            : OUTSIDE_BATCHES.has(property)
              ? (...args: unknown[]) => {
                  group.flush();
                  return value.apply(object, args);
                }
              : (...args: unknown[]) => {
                  group.join();
                  const result = value.apply(object, args);
                  if (!(result instanceof Promise)) return result;
                  return result.then(
                    async (v) => {
                      await group.committed();
                      return v;
                    },
                    async (err) => {
                      await group.committed().catch(() => {});
                      throw err;
                    },
                  );
                };
        wrapped.set(property, method);
      }
      return method;
    },
  });
  wrappedBy.set(proxy, { target, group });
  return proxy;
}
