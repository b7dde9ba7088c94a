import type { NumberVault } from "../../core/number-vault.js";
import type { Store } from "../../core/store/index.js";
import { plainUnit } from "../../core/store/unit.js";
import { createSqliteAnalyticsStore } from "./analytics.js";
import { createSqliteChannelMemoryStore } from "./channel-memory.js";
import { sqliteStoreContext } from "./context.js";
import { createSqliteCostStore } from "./costs.js";
import { createSqliteDeliveryStore } from "./deliveries.js";
import { createSqliteEventStore } from "./events.js";
import { createSqliteFactorStore } from "./factors.js";
import { createSqliteIdempotencyStore } from "./idempotency.js";
import { createSqliteInboundStore } from "./inbound.js";
import type { OpenedSqlite } from "./open.js";
import { createSqliteOptOutStore } from "./opt-outs.js";
import { sqliteReadiness } from "./readiness.js";
import { createSqliteRetentionStore } from "./retention.js";
import { createSqliteServiceStore } from "./services.js";
import { createSqliteVerificationStore } from "./verifications.js";

/**
 * The Store on SQLite, one file per area of the port. better-sqlite3 is synchronous, so each
 * operation is one synchronous transaction (nothing is awaited inside it) and therefore atomic; the
 * async signature is the port's. Phone numbers are stored as blind indexes beside sealed copies
 * (`vault`, see store/at-rest.ts); the port speaks plain E.164.
 *
 * This is the store alone: store/backends.ts (`sqliteStores`) joins it to the connection's group commit.
 */
export function createSqliteStore(opened: OpenedSqlite, vault: NumberVault): Store {
  const ctx = sqliteStoreContext(opened, vault);
  const { raw } = opened;
  return {
    ...createSqliteServiceStore(ctx),
    ...createSqliteVerificationStore(ctx),
    ...createSqliteDeliveryStore(ctx),
    ...createSqliteFactorStore(ctx),
    ...createSqliteInboundStore(ctx),
    ...createSqliteIdempotencyStore(ctx),
    ...createSqliteAnalyticsStore(ctx),
    ...createSqliteCostStore(ctx),
    ...createSqliteChannelMemoryStore(ctx),
    ...createSqliteEventStore(ctx),
    ...createSqliteOptOutStore(ctx),
    ...createSqliteRetentionStore(ctx),
    // Replaced by the group commit's unit (backends.ts); as it is, each operation commits on its own.
    unit: plainUnit,
    async ping() {
      raw.prepare("select 1").get();
    },
    async readiness() {
      return sqliteReadiness(raw);
    },
    async close() {
      raw.close();
    },
  };
}
