import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { createTestDatabase } from "./services.js";

/** The suites run on PostgreSQL + Redis when asked to (`npm run test:pg`, or the URLs given). */
export const onSharedBackends = () => Boolean(process.env.VERIFYD_TEST_DATABASE_URL) || process.env.VERIFYD_TEST_STORE === "pg";

/**
 * Configuration for one verifyd under test: a fresh database and its own Redis key prefix when the
 * suites run on shared backends, nothing otherwise (SQLite in the test's temp folder).
 */
export async function sharedBackendsEnv(): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  if (!onSharedBackends()) return { env: {}, cleanup: async () => {} };
  const postgres = inject("postgresUrl");
  if (!postgres) throw new Error("VERIFYD_TEST_STORE=pg needs PostgreSQL: install it or set VERIFYD_TEST_DATABASE_URL");
  const database = await createTestDatabase(postgres);
  const env: Record<string, string> = { DATABASE_URL: database.url, VERIFYD_DB_POOL_SIZE: "4" };
  const redis = process.env.VERIFYD_TEST_REDIS_URL ?? inject("redisUrl");
  if (redis) Object.assign(env, { REDIS_URL: redis, VERIFYD_REDIS_PREFIX: `t${randomBytes(6).toString("hex")}:` });
  return { env, cleanup: () => database.drop() };
}
