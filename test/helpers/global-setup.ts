import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { migratePg, openPg } from "../../src/store/pg/open.js";
import { prepareTemplate, startPostgres, startRedis, type TestServer } from "./services.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A PostgreSQL server holding the migrated template `verifyd_template`, or null when none is available. */
    postgresUrl: string | null;
    redisUrl: string | null;
  }
}

/**
 * Builds dist/ for the end-to-end tests, and provides a PostgreSQL and a Redis server: the ones
 * named by VERIFYD_TEST_DATABASE_URL / VERIFYD_TEST_REDIS_URL, else throwaway ones started here.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.VERIFYD_TEST_SKIP_BUILD !== "1") {
    execFileSync(process.execPath, ["scripts/build-if-stale.mjs"], { stdio: "inherit" });
  }
  const started: TestServer[] = [];
  let postgresUrl = process.env.VERIFYD_TEST_DATABASE_URL ?? null;
  if (!postgresUrl) {
    const server = await startPostgres();
    if (server) started.push(server);
    postgresUrl = server?.url ?? null;
  }
  let redisUrl = process.env.VERIFYD_TEST_REDIS_URL ?? null;
  if (!redisUrl) {
    const server = await startRedis();
    if (server) started.push(server);
    redisUrl = server?.url ?? null;
  }
  if (postgresUrl) {
    await prepareTemplate(postgresUrl, async (url) => {
      const opened = openPg(url, { poolSize: 1 });
      await migratePg(opened.pool);
      await opened.pool.end();
    });
  }
  project.provide("postgresUrl", postgresUrl);
  project.provide("redisUrl", redisUrl);
  return async () => {
    for (const server of started) await server.stop();
  };
}
