import type { Config } from "../config/env.js";
import { ConfigError } from "../config/errors.js";
import type { Clock } from "../core/ports.js";
import { systemClock } from "../runtime.js";
import { migrateSqlite, openSqlite } from "../store/sqlite/open.js";
import { type RotationCounts, rotateSqliteKey } from "../store/sqlite/rotate-key.js";
import { VaultKeyMismatchError } from "../store/vault-key.js";

/**
 * `verifyd rotate-key`: re-keys the database from VERIFYD_PREVIOUS_SECRET to VERIFYD_SECRET in one
 * transaction. Run it while verifyd is stopped: a running process would go on sealing with the old key.
 * Both secrets must be given explicitly (a generated development secret is not guessed at).
 */
export async function rotateKeyCommand(
  config: Pick<Config, "dbPath" | "secret" | "previousSecret" | "screening"> & Partial<Pick<Config, "databaseUrl">>,
  options: { clock?: Clock; write?: (text: string) => void } = {},
): Promise<RotationCounts | null> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  if (config.databaseUrl) {
    // Not yet ported: the re-keying pass is written against the SQLite file (README: Limits).
    throw new ConfigError("DATABASE_URL: rotate-key re-keys SQLite databases only; it is not available on PostgreSQL");
  }
  if (!config.secret) throw new ConfigError("VERIFYD_SECRET: required by rotate-key (the new secret)");
  if (!config.previousSecret)
    throw new ConfigError("VERIFYD_PREVIOUS_SECRET: required by rotate-key (the secret in use until now)");
  if (config.previousSecret === config.secret) {
    throw new ConfigError("VERIFYD_PREVIOUS_SECRET: equals VERIFYD_SECRET; set VERIFYD_SECRET to the new secret");
  }
  const sqlite = openSqlite(config.dbPath);
  try {
    migrateSqlite(sqlite.db);
    const counts = rotateSqliteKey(sqlite.raw, {
      previous: config.previousSecret,
      current: config.secret,
      prefixDigits: config.screening.prefixDigits,
      now: (options.clock ?? systemClock).now(),
    });
    if (!counts) {
      write(`${config.dbPath} is already sealed with VERIFYD_SECRET; nothing to do\n`);
      return null;
    }
    write(
      `re-keyed ${config.dbPath}: ${counts.verifications} verifications (${counts.expired} pending inbound expired), ` +
        `${counts.optOuts} opt-outs, ${counts.events} events, ${counts.idempotencyKeys} idempotency keys, ` +
        `${counts.factors} factors, ${counts.rateLimits} rate-limit counters (${counts.droppedRateLimits} dropped), ` +
        `${counts.conversionHistory} conversion history rows (${counts.droppedConversionHistory} dropped)\n`,
    );
    return counts;
  } finally {
    sqlite.raw.close();
  }
}

/** `verifyd rotate-key` for the CLI: 0 re-keyed (or nothing to do), 1 the previous secret does not open the data, 78 secrets missing. */
export async function runRotateKey(config: Config): Promise<number> {
  try {
    await rotateKeyCommand(config);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError) && !(err instanceof VaultKeyMismatchError)) throw err;
    process.stderr.write(`verifyd: ${err.message}\n`);
    return err instanceof ConfigError ? 78 : 1;
  }
}
