import type { Config } from "../config/env.js";
import type { Clock } from "../core/ports.js";
import { createRetentionService } from "../core/retention.js";
import type { PurgeCounts } from "../core/store/retention.js";
import { systemClock } from "../runtime.js";
import { describeDatabase, openConfiguredStore } from "../store/backends.js";

/**
 * `verifyd purge`: deletes what the retention window no longer covers, once, and prints the counts.
 * Safe beside running servers (the purge is one transaction).
 */
export async function purgeCommand(
  config: Pick<Config, "dbPath" | "retentionMs" | "secret"> & Partial<Pick<Config, "databaseUrl" | "dbPoolSize">>,
  options: { clock?: Clock; write?: (text: string) => void } = {},
): Promise<PurgeCounts> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const clock = options.clock ?? systemClock;
  const { store } = await openConfiguredStore(config, clock.now());
  try {
    const retention = createRetentionService({ store, clock, retentionMs: config.retentionMs });
    const counts = await retention.purge();
    const days = Math.round((config.retentionMs / 86_400_000) * 100) / 100;
    write(
      `purged ${describeDatabase(config)} (retention ${days}d): ${counts.verifications} verifications, ` +
        `${counts.deliveries} deliveries, ${counts.idempotencyKeys} idempotency keys\n`,
    );
    return counts;
  } finally {
    await store.close();
  }
}

/** `verifyd purge` for the CLI: its exit code (a failure throws, and the CLI reports it with 1). */
export async function runPurge(config: Config): Promise<number> {
  await purgeCommand(config);
  return 0;
}
