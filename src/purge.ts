import { resolveSecret } from "./bootstrap.js";
import type { Config } from "./config/env.js";
import { createNumberVault } from "./core/number-vault.js";
import type { Clock } from "./core/ports.js";
import { createRetentionService, type PurgeCounts } from "./core/retention.js";
import { systemClock } from "./runtime.js";
import { migrateSqlite, openSqlite } from "./store/sqlite/open.js";
import { createSqliteStore } from "./store/sqlite/store.js";
import { ensureSealed } from "./store/sqlite/vault-state.js";

/**
 * `verifyd purge`: deletes what the retention window no longer covers, once, and prints the counts.
 * Safe beside a running server (SQLite WAL; the purge is one transaction).
 */
export async function purgeCommand(
  config: Pick<Config, "dbPath" | "retentionMs" | "secret">,
  options: { clock?: Clock; write?: (text: string) => void } = {},
): Promise<PurgeCounts> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const clock = options.clock ?? systemClock;
  const vault = createNumberVault(resolveSecret(config));
  const sqlite = openSqlite(config.dbPath);
  migrateSqlite(sqlite.db); // before the store prepares its statements, which need the tables
  try {
    ensureSealed(sqlite.raw, vault, clock.now());
  } catch (err) {
    sqlite.raw.close();
    throw err;
  }
  const store = createSqliteStore(sqlite, vault);
  try {
    const retention = createRetentionService({ store, clock, retentionMs: config.retentionMs });
    const counts = await retention.purge();
    const days = Math.round((config.retentionMs / 86_400_000) * 100) / 100;
    write(
      `purged ${config.dbPath} (retention ${days}d): ${counts.verifications} verifications, ` +
        `${counts.deliveries} deliveries, ${counts.idempotencyKeys} idempotency keys\n`,
    );
    return counts;
  } finally {
    await store.close();
  }
}
