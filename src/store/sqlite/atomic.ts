import type Database from "better-sqlite3";

/**
 * A store operation whose body runs in one better-sqlite3 transaction: the body is synchronous
 * (nothing is awaited inside it), so the operation is atomic; the async signature is the port's.
 * Inside the connection's group commit the transaction is a savepoint, so a body that throws rolls
 * back alone (see group-commit.ts).
 */
export function atomic<A extends unknown[], R>(raw: Database.Database, body: (...args: A) => R): (...args: A) => Promise<R> {
  const run = raw.transaction(body);
  return async (...args) => run(...args);
}
