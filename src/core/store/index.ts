import type { ReadinessCheck } from "../model.js";
import type { AnalyticsStore } from "./analytics.js";
import type { ChannelMemoryStore } from "./channel-memory.js";
import type { CostStore } from "./costs.js";
import type { DeliveryStore } from "./deliveries.js";
import type { EventStore } from "./events.js";
import type { FactorStore } from "./factors.js";
import type { IdempotencyStore } from "./idempotency.js";
import type { InboundStore } from "./inbound.js";
import type { OptOutStore } from "./opt-outs.js";
import type { RetentionStore } from "./retention.js";
import type { ServiceStore } from "./services.js";
import type { UnitStore } from "./unit.js";
import type { VerificationStore } from "./verifications.js";

/*
 * The Store port, one file per area (this folder); each backend (store/sqlite, store/pg) implements
 * every area in a file of the same name, and test/store/contract.ts holds both to the same cases.
 * The conversion guard's store (conversion.ts) is a separate object: it is opened beside the Store.
 */

/**
 * Persistent state as atomic domain operations. Each implementation makes each operation
 * atomic its own way (one synchronous SQLite transaction, or one SQL statement with RETURNING);
 * there is deliberately no `transaction(fn)` here. `unit` (unit.ts) groups the operations of one
 * request so that they wait for one commit together; it does not make them one atomic change.
 */
export interface Store
  extends ServiceStore,
    VerificationStore,
    DeliveryStore,
    FactorStore,
    InboundStore,
    IdempotencyStore,
    AnalyticsStore,
    CostStore,
    ChannelMemoryStore,
    EventStore,
    OptOutStore,
    RetentionStore,
    UnitStore {
  ping(): Promise<void>;
  /** The store's part of readiness: it can take a write, and every migration is applied. */
  readiness(): Promise<ReadinessCheck[]>;
  close(): Promise<void>;
}
