import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Store } from "../../src/core/store/index.js";
import { openConfiguredStore } from "../../src/store/backends.js";
import { createPgConversionStore } from "../../src/store/pg/conversion.js";
import { openPg } from "../../src/store/pg/open.js";
import { createPgStore } from "../../src/store/pg/store.js";
import { VaultKeyMismatchError } from "../../src/store/vault-key.js";
import { createTestDatabase } from "../helpers/services.js";
import { describeStoreContract } from "./contract.js";
import { sampleVerification, testVault } from "./fixtures.js";

const server = inject("postgresUrl");
if (!server) console.warn("PostgreSQL binaries not found: skipping the PostgreSQL Store contract suite");

describeStoreContract(
  "PostgreSQL",
  async () => {
    const database = await createTestDatabase(server as string);
    const opened = openPg(database.url, { poolSize: 4 });
    const store = createPgStore(opened, testVault);
    return {
      store,
      conversion: createPgConversionStore(opened, testVault),
      async cleanup() {
        await store.close();
        await database.drop();
      },
    };
  },
  { skip: !server },
);

describe.skipIf(!server)("PostgreSQL Store: several instances on one database", () => {
  const T0 = 1_800_000_000_000;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let stores: Store[];

  beforeAll(async () => {
    database = await createTestDatabase(server as string);
    stores = [1, 2, 3].map(() => createPgStore(openPg(database.url, { poolSize: 4 }), testVault));
    await stores[0]?.ensureService({ id: "svc_test", name: "Test", route: [{ channel: "sms", providers: ["p2"] }] }, T0);
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await database.drop();
  });

  it("hands each due delivery to exactly one claimer, and approves exactly once", async () => {
    const [first] = stores as [Store];
    for (let i = 0; i < 60; i++) {
      const v = sampleVerification(`ver_m${i}`, T0, { to: `+1415555${String(1000 + i)}` });
      const d = { id: `dlv_m${i}`, verificationId: v.id, step: 0, channel: "whatsapp" as const, provider: "p1", nextTryAt: T0 };
      await first.createVerification(v, { codeHash: Buffer.from("h"), sealedCode: Buffer.from("s") }, d);
    }
    const rounds = await Promise.all(stores.flatMap((s) => [1, 2, 3].map(() => s.claimDueDeliveries(T0, 30_000, 10))));
    const claimed = rounds.flat().map((j) => j.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    const rest = await first.claimDueDeliveries(T0, 30_000, 100);
    expect(claimed.length + rest.length).toBe(60);
    // A lease that ran out (its instance died) makes the rows claimable again, once.
    const reclaimed = await Promise.all(stores.map((s) => s.claimDueDeliveries(T0 + 30_000, 30_000, 100)));
    expect(reclaimed.flat().length).toBe(60);

    const approvals = await Promise.all(stores.flatMap((s) => Array.from({ length: 5 }, () => s.approve("ver_m0", T0 + 1))));
    expect(approvals.filter(Boolean)).toHaveLength(1);
  });
});

describe.skipIf(!server)("PostgreSQL Store: the number key", () => {
  it("records the key at the first start and refuses another VERIFYD_SECRET, like SQLite", async () => {
    const database = await createTestDatabase(server as string);
    const config = (secret: string) => ({ dbPath: "unused.db", databaseUrl: database.url, dbPoolSize: 2, secret });
    try {
      const first = await openConfiguredStore(config("first-secret-0123456789abcdef0123456789"));
      await first.store.close();
      const again = await openConfiguredStore(config("first-secret-0123456789abcdef0123456789"));
      await again.store.close();
      await expect(openConfiguredStore(config("other-secret-0123456789abcdef0123456789"))).rejects.toBeInstanceOf(
        VaultKeyMismatchError,
      );
    } finally {
      await database.drop();
    }
  });
});
