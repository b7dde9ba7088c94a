import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

/**
 * The serving connection's WAL checkpoints, off the request path.
 *
 * With SQLite's automatic checkpoint (`wal_autocheckpoint`, 1000 pages), the connection whose
 * COMMIT takes the WAL past 1000 pages copies them into the database file and fsyncs it, inline:
 * in the middle of a group commit, on the event loop, every few hundred starts (a start appends
 * about four pages). Here a worker thread with its own connection to the same file runs a PASSIVE
 * checkpoint every `intervalMs` instead. PASSIVE takes no lock a writer needs: the serving
 * connection keeps committing while frames are copied, and once the worker has copied every frame
 * the next write transaction starts the WAL over from its beginning (SQLite does that by itself).
 * A longer interval also copies a page rewritten by many commits (the newest leaf of every
 * time-ordered index) once rather than once per 1000 frames.
 *
 * The bound: the serving connection keeps an automatic checkpoint at `walLimitPages`. Should the
 * worker fall behind (a WAL that grows while each pass runs, a worker that died), the committing
 * connection checkpoints inline as before once the WAL reaches that size; frames the worker already
 * copied are not copied again. A worker that fails or exits puts the serving connection back on
 * SQLite's default (1000 pages).
 *
 * Durability is unchanged: with `synchronous = NORMAL` a commit is durable once the WAL is synced,
 * which a checkpoint does before copying, whichever connection runs it; the worker's connection
 * uses the same setting. Not used in the single executable, whose driver loads from memory rather
 * than a file a worker could require: there the automatic checkpoint stays at SQLite's default.
 */
export interface Checkpointer {
  /** Runs one PASSIVE checkpoint in the worker now (starting it if needed); resolves with SQLite's answer. */
  checkpoint(): Promise<CheckpointResult>;
  /** Whether the worker runs: it starts at the first pass. */
  started(): boolean;
  /** Stops the timer and the worker (its connection closed); the serving connection is left as it is. */
  stop(): Promise<void>;
}

/** `PRAGMA wal_checkpoint`'s row: frames in the WAL, and how many of them are in the database file. */
export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

export interface CheckpointSettings {
  /** 0: no worker; the serving connection checkpoints inline at SQLite's default. */
  intervalMs: number;
  walLimitPages: number;
}

/** SQLite's own `wal_autocheckpoint`, restored when the worker is not there. */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

// CommonJS, evaluated in the worker: it has no module of its own, so it finds the same build of
// better-sqlite3 the serving connection uses (its resolved path) and answers one message per pass.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma("synchronous = NORMAL");
parentPort.on("message", (message) => {
  if (message === "stop") {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [row] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ row });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message ? err.message : err) });
  }
});
`;

/**
 * Checkpoints the database at `path`, served by `raw`, from a worker thread (see above); null when
 * there is nothing to do (in-memory database, interval 0), in which case `raw` keeps SQLite's
 * default. The worker starts at the first pass that has writes to copy, not with the server: it
 * costs a few hundred milliseconds of start-up on a busy core and about 8 MB, which an idle server
 * need not pay. `onFailure` hears of a worker that failed: checkpoints are inline again from then on.
 */
export function startCheckpointer(
  raw: Database.Database,
  path: string,
  settings: CheckpointSettings,
  onFailure: (err: unknown) => void = () => {},
): Checkpointer | null {
  if (settings.intervalMs <= 0 || raw.memory) return null;
  raw.pragma(`wal_autocheckpoint = ${settings.walLimitPages}`);

  const waiting: { resolve: (r: CheckpointResult) => void; reject: (err: unknown) => void }[] = [];
  let worker: Worker | null = null;
  let exited: Promise<void> = Promise.resolve();
  let failed: unknown;
  let stopping = false;
  const fail = (err: unknown) => {
    if (failed !== undefined) return;
    failed = err;
    clearInterval(timer);
    if (raw.open) raw.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
    for (const w of waiting.splice(0)) w.reject(err);
    if (!stopping) onFailure(err);
  };
  const started = (): Worker => {
    if (worker) return worker;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path } });
    w.unref(); // a running server holds the process open, not its checkpoints
    w.on("message", (m: { row?: CheckpointResult; error?: string }) => {
      const next = waiting.shift();
      if (m.row) next?.resolve(m.row);
      else next?.reject(new Error(m.error));
    });
    w.on("error", fail);
    exited = new Promise<void>((resolve) =>
      w.on("exit", (code) => {
        fail(new Error(`the checkpoint worker exited (code ${code})`));
        resolve();
      }),
    );
    worker = w;
    return w;
  };

  const checkpoint = (): Promise<CheckpointResult> => {
    if (failed !== undefined) return Promise.reject(failed);
    const w = started();
    return new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      w.postMessage("pass");
    });
  };
  // Rows this connection changed since it opened: a pass runs only when there is something new to
  // copy. A change seen inside an open batch is counted again at the next tick, since that batch's
  // frames may reach the WAL only after the pass began.
  const totalChanges = raw.prepare("select total_changes()").pluck();
  let copiedUpTo = totalChanges.get() as number;
  // One pass at a time: a pass longer than the interval skips the ticks it covers.
  let running = false;
  const timer = setInterval(() => {
    if (running || !raw.open) return;
    const changes = totalChanges.get() as number;
    if (changes === copiedUpTo) return;
    if (!raw.inTransaction) copiedUpTo = changes;
    running = true;
    checkpoint()
      .catch(() => {}) // a failed pass is the next one's to retry; a dead worker is `fail`'s
      .finally(() => {
        running = false;
      });
  }, settings.intervalMs);
  timer.unref();

  return {
    checkpoint,
    started: () => worker !== null,
    async stop() {
      stopping = true;
      clearInterval(timer);
      if (!worker) return;
      // Held again while it stops: awaiting an unreferenced worker would let the process end (exit 0) first.
      worker.ref();
      if (failed === undefined) worker.postMessage("stop");
      await exited;
    },
  };
}
