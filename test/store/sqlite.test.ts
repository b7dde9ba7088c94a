import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteStores } from "../../src/store/backends.js";
import { migrateSqlite, openSqlite } from "../../src/store/sqlite/open.js";
import { describeStoreContract } from "./contract.js";
import { testVault } from "./fixtures.js";

describeStoreContract("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "verifyd-store-"));
  const sqlite = openSqlite(join(dir, "store.db"));
  migrateSqlite(sqlite.db);
  const { store, conversion } = sqliteStores(sqlite, testVault);
  return {
    store,
    conversion,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
