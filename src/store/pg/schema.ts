import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  varchar,
} from "drizzle-orm/pg-core";
import type { Channel, RouteStep } from "../../core/model.js";

/**
 * The PostgreSQL schema: the SQLite schema (`../sqlite/schema.ts`) column for column, with the
 * same table, column and index names so each store's modules read alike and a schema change
 * ports mechanically. Mapping: SQLite `integer` times → `bigint` (mode number, epoch ms);
 * other `integer` → `integer`; `blob` → `bytea`; `text` JSON columns → `jsonb`; `text` → `text`.
 */

/** Binary columns (hashes, sealed secrets) as Buffers, like better-sqlite3's blobs. */
export const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

const ms = (name: string) => bigint(name, { mode: "number" });

export const services = pgTable("services", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** Partial VerificationPolicy; unset fields take the configured defaults. */
  policy: jsonb("policy").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
  route: jsonb("route").$type<RouteStep[]>().notNull(),
  countryRoutes: jsonb("country_routes").$type<Record<string, RouteStep[]>>().notNull().default(sql`'{}'::jsonb`),
  /** Partial ServiceSettings (templates, locale, autofill, test numbers…); unset fields take defaults. */
  settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
  /** Event webhook receiver of this service (null: the global one); its secret only ever sealed. */
  webhookUrl: text("webhook_url"),
  webhookSecretSealed: bytea("webhook_secret_sealed"),
});

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    serviceId: text("service_id").references(() => services.id),
    label: text("label").notNull(),
    prefix: text("prefix").notNull(),
    secretHash: bytea("secret_hash").notNull(),
    createdAt: ms("created_at").notNull(),
    revokedAt: ms("revoked_at"),
    lastUsedAt: ms("last_used_at"),
  },
  (t) => [uniqueIndex("api_keys_secret_hash").on(t.secretHash)],
);

export const verifications = pgTable(
  "verifications",
  {
    id: text("id").primaryKey(),
    serviceId: text("service_id")
      .notNull()
      .references(() => services.id),
    /** The destination's blind index (see store/at-rest.ts); '' for an inbound verification any sender may answer. */
    to: text("to_number").notNull(),
    /** The destination, sealed (AES-256-GCM); null with an empty `to_number`. */
    toSealed: bytea("to_sealed"),
    country: text("country"),
    status: text("status").notNull(),
    codeHash: bytea("code_hash"),
    sealedCode: bytea("sealed_code"),
    route: jsonb("route").$type<RouteStep[]>().notNull(),
    currentStep: integer("current_step").notNull().default(0),
    sends: integer("sends").notNull(),
    checks: integer("checks").notNull().default(0),
    maxChecks: integer("max_checks").notNull(),
    maxSends: integer("max_sends").notNull(),
    clientIp: text("client_ip"),
    locale: text("locale"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
    lastSentAt: ms("last_sent_at").notNull(),
    approvedAt: ms("approved_at"),
    inboundChannels: jsonb("inbound_channels").$type<Channel[]>(),
    inboundCodeHash: bytea("inbound_code_hash"),
    /** The blind index of the number an inbound verification was approved from. */
    verifiedNumber: text("verified_number"),
    /** PSD2 transaction binding: shown in the message and covered by the code hash. */
    amount: text("amount"),
    payee: text("payee"),
    /** A service test number (fixed code, never sent): analytics leave these rows out. */
    test: boolean("test").notNull().default(false),
    verifiedNumberSealed: bytea("verified_number_sealed"),
  },
  (t) => [
    uniqueIndex("verifications_one_pending").on(t.serviceId, t.to).where(sql`status = 'pending' and inbound_channels is null`),
    uniqueIndex("verifications_inbound_pending").on(t.inboundCodeHash).where(sql`status = 'pending'`),
    index("verifications_inbound_code").on(t.inboundCodeHash),
    index("verifications_destination").on(t.serviceId, t.to, t.createdAt),
    index("verifications_pending_expiry").on(t.expiresAt).where(sql`status = 'pending'`),
    // Time-range scans of analytics and the recent list: across services, and within one.
    index("verifications_created").on(t.createdAt),
    index("verifications_service_created").on(t.serviceId, t.createdAt),
  ],
);

export const deliveries = pgTable(
  "deliveries",
  {
    id: text("id").primaryKey(),
    verificationId: text("verification_id")
      .notNull()
      .references(() => verifications.id, { onDelete: "cascade" }),
    step: integer("step").notNull(),
    channel: text("channel").notNull(),
    provider: text("provider").notNull(),
    status: text("status").notNull(),
    providerMessageId: text("provider_message_id"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    tries: integer("tries").notNull().default(0),
    nextTryAt: ms("next_try_at"),
    leaseUntil: ms("lease_until"),
    fallbackAt: ms("fallback_at"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    index("deliveries_verification").on(t.verificationId),
    index("deliveries_due").on(t.nextTryAt).where(sql`status = 'queued'`),
    index("deliveries_leased").on(t.leaseUntil).where(sql`status = 'sending'`),
    index("deliveries_provider_message").on(t.provider, t.providerMessageId),
    index("deliveries_fallback_due").on(t.fallbackAt).where(sql`fallback_at is not null`),
  ],
);

export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    serviceId: text("service_id").notNull(),
    key: text("key").notNull(),
    /** Sealed: a plain digest of a request body that names a number could be brute-forced back to it. */
    fingerprint: text("fingerprint").notNull(),
    responseStatus: integer("response_status"),
    /** The first answer, sealed (it holds the number). */
    responseBody: text("response_body"),
    /** The verification the answer names, so erasure finds the row without opening every body. */
    verificationId: text("verification_id"),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.serviceId, t.key] }), index("idempotency_created").on(t.createdAt)],
);

export const factors = pgTable(
  "factors",
  {
    id: text("id").primaryKey(),
    serviceId: text("service_id")
      .notNull()
      .references(() => services.id),
    entityId: text("entity_id").notNull(),
    label: text("label"),
    sealedSecret: bytea("sealed_secret").notNull(),
    digits: integer("digits").notNull(),
    period: integer("period").notNull(),
    status: text("status").notNull(),
    lastStep: ms("last_step"),
    failedAttempts: integer("failed_attempts").notNull().default(0),
    lockedUntil: ms("locked_until"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [index("factors_entity").on(t.serviceId, t.entityId)],
);

export const optOuts = pgTable(
  "opt_outs",
  {
    /** The number's blind index. */
    phone: text("phone").notNull(),
    /** The number, sealed (AES-256-GCM) and bound to its index. */
    phoneSealed: bytea("phone_sealed"),
    channel: text("channel").notNull(),
    source: text("source").notNull(),
    keyword: text("keyword"),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.phone, t.channel] }), index("opt_outs_created").on(t.createdAt)],
);

/** rate-limiter-flexible's PostgreSQL table (its own DDL, owned here by the migrations). */
export const rateLimits = pgTable("rate_limits", {
  key: varchar("key", { length: 255 }).primaryKey(),
  points: integer("points").notNull().default(0),
  expire: bigint("expire", { mode: "number" }),
});

export const events = pgTable(
  "events",
  {
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    /** Whose receiver gets it; null for events queued before receivers were per service. */
    serviceId: text("service_id"),
    /** The exact JSON text that is signed and sent, sealed (it names the number, masked). */
    payload: text("payload").notNull(),
    /** pending | delivered | dead */
    status: text("status").notNull(),
    tries: integer("tries").notNull().default(0),
    nextTryAt: ms("next_try_at"),
    lastError: text("last_error"),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [index("events_due").on(t.nextTryAt).where(sql`status = 'pending'`), index("events_listing").on(t.status, t.createdAt)],
);

/** Conversion guard counters per time bucket and number prefix (blind index) or country. */
export const conversionCounts = pgTable(
  "conversion_counts",
  {
    /** prefix | range | country */
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    bucketStart: ms("bucket_start").notNull(),
    sends: integer("sends").notNull().default(0),
    approvals: integer("approvals").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key, t.bucketStart] }), index("conversion_counts_bucket").on(t.bucketStart)],
);

/** Automatic blocks opened by the conversion guard; active while not lifted and not expired. */
export const abuseBlocks = pgTable(
  "abuse_blocks",
  {
    id: text("id").primaryKey(),
    scope: text("scope").notNull(),
    /** A country code, or a prefix's or range's blind index. */
    key: text("key").notNull(),
    /** The prefix or range itself, sealed, for the admin listing; null for a country. */
    keySealed: text("key_sealed"),
    reason: text("reason").notNull(),
    sends: integer("sends").notNull(),
    approvals: integer("approvals").notNull(),
    /** enforce | monitor */
    mode: text("mode").notNull(),
    /** 1 for the key's first block within the guard's memory, 2 for the next, and so on. */
    repeat: integer("repeat").notNull().default(1),
    createdAt: ms("created_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
    liftedAt: ms("lifted_at"),
  },
  (t) => [
    index("abuse_blocks_active").on(t.expiresAt).where(sql`lifted_at is null`),
    index("abuse_blocks_key").on(t.scope, t.key),
  ],
);

/** What the conversion guard remembers of a prefix, range or country beyond its counters' window. */
export const conversionHistory = pgTable(
  "conversion_history",
  {
    scope: text("scope").notNull(),
    /** A country code, or a prefix's or range's blind index. */
    key: text("key").notNull(),
    /** The latest approval of a code sent to the key, or an admin's lift of its block. */
    lastApprovedAt: ms("last_approved_at"),
    /** When the key's latest block ended or ends. */
    blockedUntil: ms("blocked_until"),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] })],
);

/** One row: a box sealed with the current number key, so a start with another VERIFYD_SECRET is refused. */
export const vaultState = pgTable("vault_state", {
  id: integer("id").primaryKey(),
  keyCheck: bytea("key_check").notNull(),
  updatedAt: ms("updated_at").notNull(),
});

/**
 * Versions of the configured price table: each applies to attempts created from `valid_from` until
 * the next version's, so old attempts keep the prices they were sent at (nothing is written per send).
 */
export const priceTables = pgTable("price_tables", {
  version: integer("version").primaryKey(),
  /** Of the canonical JSON document: an unchanged table is not registered again. */
  fingerprint: text("fingerprint").notNull(),
  validFrom: ms("valid_from").notNull(),
  /** The PriceTable (micro-units). */
  document: jsonb("document").notNull(),
});

/**
 * Channel memory: per destination (its blind index) and channel, the last delivered or failed
 * outcome, deleted once `expires_at` passed.
 */
export const channelMemory = pgTable(
  "channel_memory",
  {
    destination: text("destination").notNull(),
    channel: text("channel").notNull(),
    outcome: text("outcome").notNull(),
    at: ms("at").notNull(),
    expiresAt: ms("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.destination, t.channel] }), index("channel_memory_expires").on(t.expiresAt)],
);
