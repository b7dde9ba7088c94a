import type { Config } from "../config/env.js";
import { describeDatabase, openConfiguredStore } from "../store/backends.js";

/** `verifyd migrate`: applies the database migrations and exits. */
export async function runMigrate(config: Config): Promise<number> {
  // Rows stored in clear by earlier versions are sealed here (or at the first start).
  const { store } = await openConfiguredStore(config);
  await store.close();
  process.stdout.write(`migrated ${describeDatabase(config)}\n`);
  return 0;
}
