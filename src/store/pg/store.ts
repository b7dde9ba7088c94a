import type { NumberVault } from "../../core/number-vault.js";
import type { Store } from "../../core/store/index.js";
import { plainUnit } from "../../core/store/unit.js";
import { createPgAnalyticsStore } from "./analytics.js";
import { createPgChannelMemoryStore } from "./channel-memory.js";
import { createPgCostStore } from "./costs.js";
import { createPgDeliveryStore } from "./deliveries.js";
import { createPgEventStore } from "./events.js";
import { createPgFactorStore } from "./factors.js";
import { createPgIdempotencyStore } from "./idempotency.js";
import { createPgInboundStore } from "./inbound.js";
import type { OpenedPg } from "./open.js";
import { createPgOptOutStore } from "./opt-outs.js";
import { pgReadiness } from "./readiness.js";
import { createPgRetentionStore } from "./retention.js";
import { createPgServiceStore } from "./services.js";
import { createPgVerificationStore } from "./verifications.js";

/**
 * The Store on PostgreSQL, one file per area of the port. Each operation is one statement
 * (conditional `UPDATE … RETURNING`, `INSERT … ON CONFLICT`) or one short transaction whose first
 * write locks the row it decides on, so operations stay atomic with any number of instances on the
 * same database. Phone numbers are stored as blind indexes beside sealed copies (`vault`, see
 * store/at-rest.ts), exactly as on SQLite; the port speaks plain E.164.
 */
export function createPgStore(opened: OpenedPg, vault: NumberVault): Store {
  const { pool, db } = opened;
  return {
    ...createPgServiceStore(opened),
    ...createPgVerificationStore(opened, vault),
    ...createPgDeliveryStore(opened, vault),
    ...createPgFactorStore(opened),
    ...createPgInboundStore(opened, vault),
    ...createPgIdempotencyStore(opened, vault),
    ...createPgAnalyticsStore(opened, vault),
    ...createPgCostStore(opened),
    ...createPgChannelMemoryStore(opened, vault),
    ...createPgEventStore(opened, vault),
    ...createPgOptOutStore(opened, vault),
    ...createPgRetentionStore(opened, vault),
    // PostgreSQL: every operation commits on its own; SQLite: the group commit's unit replaces this one.
    unit: plainUnit,
    async ping() {
      await pool.query("select 1");
    },
    async readiness() {
      return pgReadiness(db);
    },
    async close() {
      await pool.end();
    },
  };
}
