import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { StartupError } from "../../config/errors.js";
import { isSingleExecutable, loadEmbeddedSqliteAddon } from "../../sea.js";

/**
 * One server per SQLite file. Two would each run an outbox worker and a group-commit writer on the
 * same rows; the CLI's short commands (keys, services, purge) may still open it beside the server.
 *
 * The lock is an exclusive SQLite lock on a small file beside the database (`<db>.serve-lock`),
 * held by the open connection: the operating system drops it when the process ends, crash or
 * SIGKILL included, so it is never left stale and no PID has to be checked.
 */

export interface ServeLock {
  release(): void;
}

export function lockForServing(dbPath: string): ServeLock | null {
  if (dbPath === ":memory:") return null;
  const path = `${resolve(dbPath)}.serve-lock`;
  mkdirSync(dirname(path), { recursive: true });
  // The typings only allow a path, but better-sqlite3 also takes the loaded addon object (see sea.ts).
  const options = isSingleExecutable() ? ({ nativeBinding: loadEmbeddedSqliteAddon() } as unknown as Database.Options) : {};
  const db = new Database(path, { ...options, timeout: 0 });
  try {
    // EXCLUSIVE locking mode keeps the lock after the transaction begins, for as long as the connection is open.
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
    throw new StartupError(
      `${dbPath} is already served by another verifyd process (it holds ${path}); stop that one, or give this one its own database with VERIFYD_DB=…`,
    );
  }
  return { release: () => db.close() };
}
